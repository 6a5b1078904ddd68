package io.isthmus.trust.ca;

import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.X509v3CertificateBuilder;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Crypto;

/**
 * Creates the federation root and per-cluster intermediates. An intermediate carries a NameConstraints
 * extension whose only permitted subtree is the URI host of its trust domain, so that verifiers (ours, the
 * JDK's PKIX, openssl) refuse any SVID it signs for another trust domain.
 */
public final class CaFactory {
    /** Backdating absorbs small clock differences between the signer and verifiers. */
    static final Duration BACKDATE = Duration.ofSeconds(30);

    private final Clock clock;

    public CaFactory(Clock clock) {
        this.clock = clock;
    }

    /** A self-signed federation root with a fresh ECDSA P-256 key. */
    public CaCredential createRoot(String commonName, Duration validity) {
        KeyPair keys = Crypto.generateEcP256();
        X500Name subject = name(commonName, null);
        Instant now = clock.instant();
        X509v3CertificateBuilder b = CertificateTemplates.builder(subject, subject, keys.getPublic(), keys.getPublic(),
                now.minus(BACKDATE), now.plus(validity));
        // pathLen 1: root -> intermediate -> leaf, no deeper.
        CertificateTemplates.add(b, Extension.basicConstraints, true, new BasicConstraints(1));
        CertificateTemplates.add(b, Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        X509Certificate cert = CertificateTemplates.sign(b, keys.getPrivate());
        return new CaCredential(keys.getPrivate(), List.of(cert));
    }

    /** An intermediate for {@code trustDomain} with a fresh key, signed by {@code root}. */
    public CaCredential issueIntermediate(CaCredential root, TrustDomain trustDomain, Duration validity) {
        KeyPair keys = Crypto.generateEcP256();
        X509Certificate cert = issueIntermediateCertificate(root, trustDomain, keys.getPublic(), validity);
        return new CaCredential(keys.getPrivate(), List.of(cert));
    }

    /**
     * The certificate of an intermediate whose key was made elsewhere (e.g. in the cluster, from its CSR).
     * Its lifetime never exceeds the root's.
     */
    public X509Certificate issueIntermediateCertificate(CaCredential root, TrustDomain trustDomain, PublicKey key,
            Duration validity) {
        X509Certificate rootCert = root.certificate();
        Instant now = clock.instant();
        Instant notAfter = min(now.plus(validity), rootCert.getNotAfter().toInstant());
        Instant notBefore = max(now.minus(BACKDATE), rootCert.getNotBefore().toInstant());
        X500Name issuer = CertificateTemplates.subjectOf(rootCert);
        X509v3CertificateBuilder b = CertificateTemplates.builder(issuer, name("Isthmus intermediate", trustDomain),
                key, rootCert.getPublicKey(), notBefore, notAfter);
        CertificateTemplates.add(b, Extension.basicConstraints, true, new BasicConstraints(0));
        CertificateTemplates.add(b, Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        // The signing authority carries an SVID of its own: the trust domain ID (SPIFFE-ID.md 3.1).
        CertificateTemplates.add(b, Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, trustDomain.id().toString())));
        // Host-only URI subtree: matches spiffe://<td>/... and nothing else (RFC 5280 4.2.1.10; FACTS.md).
        GeneralSubtree permitted = new GeneralSubtree(new GeneralName(GeneralName.uniformResourceIdentifier,
                trustDomain.name()));
        CertificateTemplates.add(b, Extension.nameConstraints, true,
                new NameConstraints(new GeneralSubtree[] {permitted}, null));
        return CertificateTemplates.sign(b, root.key());
    }

    static X500Name name(String commonName, TrustDomain trustDomain) {
        X500NameBuilder nb = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Isthmus");
        // OU is limited to 64 characters; the trust domain is in the URI SAN in any case.
        if (trustDomain != null && trustDomain.name().length() <= 64) {
            nb.addRDN(BCStyle.OU, trustDomain.name());
        }
        if (commonName != null) {
            nb.addRDN(BCStyle.CN, commonName);
        }
        return nb.build();
    }

    static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    static Instant max(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

}
