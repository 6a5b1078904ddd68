package io.isthmus.trust.ca;

import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Pem;
import io.isthmus.trust.x509.PemException;

/**
 * Signs X.509-SVIDs per the SPIFFE X.509-SVID spec: exactly one URI SAN (the SPIFFE ID), CA:FALSE, key usage
 * digitalSignature, extended key usage serverAuth + clientAuth. The identity always comes from the caller,
 * never from the request: whatever subject or SANs a CSR asks for are ignored. Thread-safe and stateless.
 */
public final class SvidIssuer {
    public static final Duration DEFAULT_TTL = Duration.ofHours(1);
    public static final Duration MAX_TTL = Duration.ofDays(30);

    private static final java.security.spec.EllipticCurve P256 =
            ((ECPublicKey) Crypto.generateEcP256().getPublic()).getParams().getCurve();

    private final Clock clock;

    public SvidIssuer(Clock clock) {
        this.clock = clock;
    }

    /** An SVID with a fresh P-256 key generated in this process. */
    public X509Svid issue(CaCredential ca, SpiffeId id, Duration ttl) {
        KeyPair keys = Crypto.generateEcP256();
        X509Certificate leaf = issueCertificate(ca, id, keys.getPublic(), ttl);
        return new X509Svid(id, keys.getPrivate(), chain(ca, leaf));
    }

    /**
     * Verifies a PKCS#10 request (PEM or DER) and signs an SVID for {@code id} over its public key.
     *
     * @return the chain to present: leaf, then the CA's chain
     * @throws CsrException when the request is malformed, its signature fails or its key is unsupported
     * @throws IssuanceException when {@code ca} may not sign {@code id}
     */
    public List<X509Certificate> issueFromCsr(CaCredential ca, SpiffeId id, byte[] csr, Duration ttl) {
        PublicKey key = verifiedKey(csr);
        return chain(ca, issueCertificate(ca, id, key, ttl));
    }

    /** The public key of a request whose self-signature verifies. */
    public static PublicKey verifiedKey(byte[] csrBytes) {
        PKCS10CertificationRequest csr;
        try {
            csr = Pem.readCsr(csrBytes);
        } catch (PemException e) {
            throw new CsrException(CsrError.MALFORMED, e.getMessage());
        }
        PublicKey key;
        try {
            key = new JcaPKCS10CertificationRequest(csr).setProvider(Crypto.BC).getPublicKey();
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            throw new CsrException(CsrError.UNSUPPORTED_KEY, String.valueOf(e.getMessage()));
        }
        checkKey(key);
        try {
            boolean valid = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(Crypto.BC)
                    .build(csr.getSubjectPublicKeyInfo()));
            if (!valid) {
                throw new CsrException(CsrError.BAD_SIGNATURE, "");
            }
        } catch (OperatorCreationException | PKCSException | RuntimeException e) {
            if (e instanceof CsrException ce) {
                throw ce;
            }
            throw new CsrException(CsrError.BAD_SIGNATURE, String.valueOf(e.getMessage()));
        }
        return key;
    }

    /**
     * The leaf certificate for {@code id} over {@code key}, valid from now (backdated slightly) for {@code ttl},
     * never past the CA's own expiry.
     */
    public X509Certificate issueCertificate(CaCredential ca, SpiffeId id, PublicKey key, Duration ttl) {
        if (id.path().isEmpty()) {
            throw new IssuanceException("cannot issue an SVID for " + id
                    + ": a workload SPIFFE ID needs a path (the bare trust domain ID names the CA itself)");
        }
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new IssuanceException("SVID lifetime " + ttl + " is outside (0, " + MAX_TTL + "]");
        }
        checkKey(key);
        X509Certificate caCert = ca.certificate();
        List<String> permitted = Certificates.permittedUriSubtrees(caCert);
        if (!permitted.isEmpty() && !permitted.contains(id.trustDomain().name())) {
            throw new IssuanceException("CA " + Certificates.describe(caCert) + " is constrained to "
                    + String.join(", ", permitted) + " and may not sign " + id);
        }
        Instant now = clock.instant();
        Instant caNotAfter = caCert.getNotAfter().toInstant();
        if (!now.isBefore(caNotAfter)) {
            throw new IssuanceException("CA " + Certificates.describe(caCert) + " expired at " + caNotAfter
                    + "; rotate the intermediate before issuing");
        }
        Instant notBefore = CaFactory.max(now.minus(CaFactory.BACKDATE), caCert.getNotBefore().toInstant());
        Instant notAfter = CaFactory.min(now.plus(ttl), caNotAfter);
        X500Name subject = CaFactory.name(null, id.trustDomain());
        X509v3CertificateBuilder b = CertificateTemplates.builder(CertificateTemplates.subjectOf(caCert), subject, key,
                caCert.getPublicKey(), notBefore, notAfter);
        CertificateTemplates.add(b, Extension.basicConstraints, true, new BasicConstraints(false));
        int usage = KeyUsage.digitalSignature | (key instanceof RSAPublicKey ? KeyUsage.keyEncipherment : 0);
        CertificateTemplates.add(b, Extension.keyUsage, true, new KeyUsage(usage));
        CertificateTemplates.add(b, Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        CertificateTemplates.add(b, Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
        return CertificateTemplates.sign(b, ca.key());
    }

    private static List<X509Certificate> chain(CaCredential ca, X509Certificate leaf) {
        java.util.ArrayList<X509Certificate> chain = new java.util.ArrayList<>(ca.chain().size() + 1);
        chain.add(leaf);
        // A root signing leaves directly would put the root itself in the chain; peers hold it already.
        if (!ca.certificate().getSubjectX500Principal().equals(ca.certificate().getIssuerX500Principal())) {
            chain.addAll(ca.chain());
        }
        return List.copyOf(chain);
    }

    private static void checkKey(PublicKey key) {
        if (key instanceof ECPublicKey ec) {
            if (!P256.equals(ec.getParams().getCurve())) {
                throw new CsrException(CsrError.UNSUPPORTED_KEY, "EC key on a curve other than P-256 ("
                        + ec.getParams().getCurve().getField().getFieldSize() + "-bit field)");
            }
            return;
        }
        if (key instanceof RSAPublicKey rsa) {
            if (rsa.getModulus().bitLength() < 2048) {
                throw new CsrException(CsrError.UNSUPPORTED_KEY, "RSA key of " + rsa.getModulus().bitLength() + " bits");
            }
            return;
        }
        throw new CsrException(CsrError.UNSUPPORTED_KEY, key.getAlgorithm() + " key");
    }
}
