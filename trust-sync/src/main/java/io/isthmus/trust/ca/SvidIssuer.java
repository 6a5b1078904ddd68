package io.isthmus.trust.ca;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.bc.BcX509ExtensionUtils;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.DefaultAlgorithmNameFinder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.IsthmusOids;
import io.isthmus.trust.x509.Pem;
import io.isthmus.trust.x509.PemException;

/**
 * Signs X.509-SVIDs per the SPIFFE X.509-SVID spec: exactly one URI SAN (the SPIFFE ID), CA:FALSE, key usage
 * digitalSignature, extended key usage serverAuth + clientAuth; a workload SVID a VM agent asked for also carries the
 * non-critical {@link IsthmusOids#WORKLOAD_ISSUED_TO_AGENT} ({@link #issueWorkloadCertificate}). The identity always comes from the caller,
 * never from the request: whatever subject or SANs a CSR asks for are ignored. Thread-safe and stateless.
 */
public final class SvidIssuer {
    public static final Duration DEFAULT_TTL = Duration.ofHours(1);
    public static final Duration MAX_TTL = Duration.ofDays(30);

    private static final DefaultAlgorithmNameFinder ALGORITHM_NAMES = new DefaultAlgorithmNameFinder();

    private final Clock clock;
    private volatile SigningCa signing;

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
        VerifiedCsr verified = verify(csr);
        return chain(ca, issue(ca, id, verified.spki(), ttl, null));
    }

    /** The public key of a request whose self-signature verifies. */
    public static PublicKey verifiedKey(byte[] csrBytes) {
        return verify(csrBytes).key();
    }

    /** A request's key, read once: as a key object (to check its signature) and as the structure a certificate holds. */
    private record VerifiedCsr(PublicKey key, SubjectPublicKeyInfo spki) {
    }

    /**
     * Parses the request and checks its self-signature with BouncyCastle. The key is converted from the request once,
     * to BouncyCastle's own form, and the signed part is encoded once: going through
     * {@code JcaPKCS10CertificationRequest.getPublicKey()} and then {@code isSignatureValid} converted the key twice.
     */
    private static VerifiedCsr verify(byte[] csrBytes) {
        PKCS10CertificationRequest csr;
        try {
            csr = Pem.readCsr(csrBytes);
        } catch (PemException e) {
            throw new CsrException(CsrError.MALFORMED, e.getMessage());
        }
        SubjectPublicKeyInfo spki = csr.getSubjectPublicKeyInfo();
        PublicKey key;
        try {
            key = BouncyCastleProvider.getPublicKey(spki);
            if (key == null) {
                throw new CsrException(CsrError.UNSUPPORTED_KEY, "key algorithm " + spki.getAlgorithm().getAlgorithm());
            }
        } catch (java.io.IOException | RuntimeException e) {
            if (e instanceof CsrException ce) {
                throw ce;
            }
            throw new CsrException(CsrError.UNSUPPORTED_KEY, String.valueOf(e.getMessage()));
        }
        checkKey(spki, key);
        try {
            String algorithm = ALGORITHM_NAMES.getAlgorithmName(csr.getSignatureAlgorithm());
            Signature signature = Signature.getInstance(algorithm, Crypto.BC);
            signature.initVerify(key);
            signature.update(csr.toASN1Structure().getCertificationRequestInfo().getEncoded(ASN1Encoding.DER));
            if (!signature.verify(csr.getSignature())) {
                throw new CsrException(CsrError.BAD_SIGNATURE, "");
            }
        } catch (java.security.GeneralSecurityException | java.io.IOException | RuntimeException e) {
            if (e instanceof CsrException ce) {
                throw ce;
            }
            throw new CsrException(CsrError.BAD_SIGNATURE, String.valueOf(e.getMessage()));
        }
        return new VerifiedCsr(key, spki);
    }

    /**
     * The leaf certificate for {@code id} over {@code key}, valid from now (backdated slightly) for {@code ttl},
     * never past the CA's own expiry.
     */
    public X509Certificate issueCertificate(CaCredential ca, SpiffeId id, PublicKey key, Duration ttl) {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.getEncoded());
        checkKey(spki, key);
        return issue(ca, id, spki, ttl, null);
    }

    /**
     * As {@link #issueCertificate(CaCredential, SpiffeId, PublicKey, Duration)}, for a workload whose SVID its VM's
     * agent {@code agent} asked for: the leaf also carries the non-critical extension
     * {@link IsthmusOids#WORKLOAD_ISSUED_TO_AGENT} (value: the agent's SPIFFE ID as a DER UTF8String), by which the
     * gateway tells it from the agent's own SVID even when {@code id} is the agent's own ID.
     */
    public X509Certificate issueWorkloadCertificate(CaCredential ca, SpiffeId id, PublicKey key, Duration ttl,
            SpiffeId agent) {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.getEncoded());
        checkKey(spki, key);
        try {
            return issue(ca, id, spki, ttl, new Extension(IsthmusOids.WORKLOAD_ISSUED_TO_AGENT, false,
                    new DERUTF8String(agent.toString()).getEncoded(ASN1Encoding.DER)));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot encode the workload mark for " + id + ": " + e.getMessage(), e);
        }
    }

    private X509Certificate issue(CaCredential ca, SpiffeId id, SubjectPublicKeyInfo key, Duration ttl, Extension mark) {
        if (id.path().isEmpty()) {
            throw new IssuanceException("cannot issue an SVID for " + id
                    + ": a workload SPIFFE ID needs a path (the bare trust domain ID names the CA itself)");
        }
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new IssuanceException("SVID lifetime " + ttl + " is outside (0, " + MAX_TTL + "]");
        }
        SigningCa signer = signing(ca);
        X509Certificate caCert = ca.certificate();
        if (!signer.permitted().isEmpty() && !signer.permitted().contains(id.trustDomain().name())) {
            throw new IssuanceException("CA " + Certificates.describe(caCert) + " is constrained to "
                    + String.join(", ", signer.permitted()) + " and may not sign " + id);
        }
        Instant now = clock.instant();
        Instant caNotAfter = caCert.getNotAfter().toInstant();
        if (!now.isBefore(caNotAfter)) {
            throw new IssuanceException("CA " + Certificates.describe(caCert) + " expired at " + caNotAfter
                    + "; rotate the intermediate before issuing");
        }
        Instant notBefore = CaFactory.max(now.minus(CaFactory.BACKDATE), caCert.getNotBefore().toInstant());
        Instant notAfter = CaFactory.min(now.plus(ttl), caNotAfter);
        X509v3CertificateBuilder b = new X509v3CertificateBuilder(signer.issuer(), CertificateTemplates.newSerial(),
                java.util.Date.from(notBefore), java.util.Date.from(notAfter), CaFactory.name(null, id.trustDomain()), key);
        boolean rsa = PKCSObjectIdentifiers.rsaEncryption.equals(key.getAlgorithm().getAlgorithm());
        try {
            b.addExtension(Extension.subjectKeyIdentifier, false, new BcX509ExtensionUtils().createSubjectKeyIdentifier(key));
            b.addExtension(Extension.authorityKeyIdentifier, false, signer.authorityKeyId());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | (rsa ? KeyUsage.keyEncipherment : 0)));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
            if (mark != null) {
                b.addExtension(mark);
            }
            return CertificateTemplates.toX509(b.build(new JcaContentSignerBuilder(signer.algorithm())
                    .setProvider(Crypto.BC).build(signer.key())));
        } catch (org.bouncycastle.cert.CertIOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot sign an SVID for " + id + ": " + e.getMessage(), e);
        }
    }

    /**
     * What signing with {@code ca} needs, worked out once per CA rather than per SVID: its key in BouncyCastle's form
     * (converting a SunEC key at every signature cost as much as the signature), its subject as the issuer name (it
     * was re-read from the certificate's encoding each time), its authority key identifier and its name constraints.
     */
    private record SigningCa(CaCredential ca, PrivateKey key, String algorithm, X500Name issuer,
            AuthorityKeyIdentifier authorityKeyId, List<String> permitted) {
    }

    private SigningCa signing(CaCredential ca) {
        SigningCa known = signing;
        if (known != null && known.ca() == ca) {
            return known;
        }
        X509Certificate cert = ca.certificate();
        try {
            SigningCa prepared = new SigningCa(ca, Crypto.bcPrivateKey(ca.key()), Crypto.signatureAlgorithm(ca.key()),
                    CertificateTemplates.subjectOf(cert), new BcX509ExtensionUtils().createAuthorityKeyIdentifier(
                            SubjectPublicKeyInfo.getInstance(cert.getPublicKey().getEncoded())),
                    Certificates.permittedUriSubtrees(cert));
            signing = prepared;
            return prepared;
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot use CA " + Certificates.describe(cert) + " to sign: " + e.getMessage(), e);
        }
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

    private static void checkKey(SubjectPublicKeyInfo spki, PublicKey key) {
        ASN1ObjectIdentifier algorithm = spki.getAlgorithm().getAlgorithm();
        if (X9ObjectIdentifiers.id_ecPublicKey.equals(algorithm)) {
            if (!SECObjectIdentifiers.secp256r1.equals(spki.getAlgorithm().getParameters())) {
                throw new CsrException(CsrError.UNSUPPORTED_KEY, "EC key on a curve other than P-256 ("
                        + spki.getAlgorithm().getParameters() + ")");
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
