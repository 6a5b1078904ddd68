package io.isthmus.trust.x509;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.NameConstraints;

/** Small read-only facts about certificates, named the way operators read them in openssl output. */
public final class Certificates {
    private static final int SAN_URI = 6;

    private Certificates() {
    }

    /** The serial as colon-separated hex, like {@code openssl x509 -serial} groups it: {@code 4f:a1:…}. */
    public static String serialHex(X509Certificate cert) {
        byte[] bytes = cert.getSerialNumber().toByteArray();
        int start = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
        StringBuilder sb = new StringBuilder();
        for (int i = start; i < bytes.length; i++) {
            if (sb.length() > 0) {
                sb.append(':');
            }
            sb.append(HexFormat.of().toHexDigits(bytes[i]));
        }
        return sb.toString();
    }

    /** All URI subject alternative names, in order. */
    public static List<String> uriSans(X509Certificate cert) {
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            List<String> uris = new ArrayList<>();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && Integer.valueOf(SAN_URI).equals(san.get(0))) {
                        uris.add(String.valueOf(san.get(1)));
                    }
                }
            }
            return List.copyOf(uris);
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("certificate serial " + serialHex(cert)
                    + " has an unparseable subjectAltName: " + e.getMessage(), e);
        }
    }

    public static boolean isCa(X509Certificate cert) {
        return cert.getBasicConstraints() >= 0;
    }

    /**
     * The URI names of the permitted subtrees of the certificate's NameConstraints extension (for an Isthmus
     * intermediate: exactly its trust domain name), or an empty list when there are none.
     */
    public static List<String> permittedUriSubtrees(X509Certificate cert) {
        byte[] ext = cert.getExtensionValue(Extension.nameConstraints.getId());
        if (ext == null) {
            return List.of();
        }
        NameConstraints nc = NameConstraints.getInstance(ASN1OctetString.getInstance(ext).getOctets());
        List<String> uris = new ArrayList<>();
        GeneralSubtree[] permitted = nc.getPermittedSubtrees();
        if (permitted != null) {
            for (GeneralSubtree subtree : permitted) {
                GeneralName base = subtree.getBase();
                if (base.getTagNo() == GeneralName.uniformResourceIdentifier) {
                    uris.add(base.getName().toString());
                }
            }
        }
        return List.copyOf(uris);
    }

    /** True when the certificate has a NameConstraints extension with excluded subtrees of any type. */
    public static boolean hasExcludedSubtrees(X509Certificate cert) {
        byte[] ext = cert.getExtensionValue(Extension.nameConstraints.getId());
        if (ext == null) {
            return false;
        }
        NameConstraints nc = NameConstraints.getInstance(ASN1OctetString.getInstance(ext).getOctets());
        return nc.getExcludedSubtrees() != null && nc.getExcludedSubtrees().length > 0;
    }

    /** Whether {@code cert}'s signature verifies with {@code issuer}'s public key. */
    public static boolean signedBy(X509Certificate cert, X509Certificate issuer) {
        if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /** A one-line description for logs and error messages. */
    public static String describe(X509Certificate cert) {
        return "serial " + serialHex(cert) + " (" + cert.getSubjectX500Principal().getName() + ")";
    }
}
