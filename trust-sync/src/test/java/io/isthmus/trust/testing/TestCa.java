package io.isthmus.trust.testing;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Pem;

/**
 * Test PKI generated per test, in memory: a federation root, per-trust-domain intermediates and SVIDs, through
 * the production {@link CaFactory} and {@link SvidIssuer}. {@link #leaf()} builds certificates the production
 * code refuses to make (two URI SANs, CA flag on a leaf, out-of-constraint IDs, wrong lifetimes) so verifiers can
 * be tested against them.
 */
public final class TestCa {
    private static final AtomicLong SERIALS = new AtomicLong(System.nanoTime() & 0xffffffL);

    private final Clock clock;
    private final CaCredential root;

    private TestCa(Clock clock, CaCredential root) {
        this.clock = clock;
        this.root = root;
    }

    public static TestCa create() {
        return create(Clock.systemUTC());
    }

    public static TestCa create(Clock clock) {
        return new TestCa(clock, new CaFactory(clock).createRoot("Isthmus test root", Duration.ofDays(365)));
    }

    public CaCredential root() {
        return root;
    }

    public X509Certificate rootCertificate() {
        return root.certificate();
    }

    public FederationRoots roots() {
        return FederationRoots.of(root.certificate());
    }

    public CaCredential intermediate(String trustDomain) {
        return intermediate(trustDomain, Duration.ofDays(30));
    }

    public CaCredential intermediate(String trustDomain, Duration validity) {
        return new CaFactory(clock).issueIntermediate(root, new TrustDomain(trustDomain), validity);
    }

    /** An SVID issued by the production issuer with the default one-hour lifetime. */
    public static X509Svid svid(CaCredential ca, String spiffeId) {
        return svid(ca, spiffeId, Clock.systemUTC());
    }

    public static X509Svid svid(CaCredential ca, String spiffeId, Clock clock) {
        return new SvidIssuer(clock).issue(ca, SpiffeId.parse(spiffeId), SvidIssuer.DEFAULT_TTL);
    }

    /** A PEM CSR signed by {@code keys}, asking for whatever subject and URI SAN the test likes. */
    public static byte[] csr(KeyPair keys, String requestedUri) {
        try {
            JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(
                    new X500Name("CN=requested"), keys.getPublic());
            if (requestedUri != null) {
                org.bouncycastle.asn1.x509.ExtensionsGenerator ext = new org.bouncycastle.asn1.x509.ExtensionsGenerator();
                ext.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, requestedUri)));
                b.addAttribute(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_extensionRequest,
                        ext.generate());
            }
            PKCS10CertificationRequest csr = b.build(new JcaContentSignerBuilder("SHA256withECDSA")
                    .setProvider(Crypto.BC).build(keys.getPrivate()));
            return Pem.write(csr).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A builder for certificates that break rules on purpose. */
    public static LeafBuilder leaf() {
        return new LeafBuilder();
    }

    public static final class LeafBuilder {
        private final List<String> uris = new ArrayList<>();
        private boolean ca;
        private int keyUsage = KeyUsage.digitalSignature;
        private Instant notBefore = Instant.now().minusSeconds(60);
        private Instant notAfter = Instant.now().plus(Duration.ofHours(1));
        private GeneralSubtree[] permitted;
        private KeyPair keys = Crypto.generateEcP256();
        private X500Name subject = new X500Name("O=Isthmus test");

        public LeafBuilder uri(String uri) {
            uris.add(uri);
            return this;
        }

        public LeafBuilder ca(boolean isCa) {
            this.ca = isCa;
            if (isCa) {
                keyUsage = KeyUsage.keyCertSign | KeyUsage.cRLSign;
            }
            return this;
        }

        public LeafBuilder keyUsage(int usage) {
            this.keyUsage = usage;
            return this;
        }

        public LeafBuilder validity(Instant from, Instant to) {
            this.notBefore = from;
            this.notAfter = to;
            return this;
        }

        public LeafBuilder permittedUriSubtree(String host) {
            this.permitted = new GeneralSubtree[] {
                new GeneralSubtree(new GeneralName(GeneralName.uniformResourceIdentifier, host))};
            return this;
        }

        public LeafBuilder subject(String dn) {
            this.subject = new X500Name(dn);
            return this;
        }

        /** The exact subject of {@code cert}, byte for byte (an impostor of that CA). */
        public LeafBuilder sameSubjectAs(X509Certificate cert) {
            try {
                this.subject = new JcaX509CertificateHolder(cert).getSubject();
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
            return this;
        }

        public LeafBuilder keys(KeyPair keyPair) {
            this.keys = keyPair;
            return this;
        }

        /** Signs with {@code issuer}, whatever its name constraints say. */
        public X509Svid signedBy(CaCredential issuer) {
            X509Certificate cert = build(issuer.certificate(), issuer.key());
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(cert);
            chain.addAll(issuer.chain());
            String uri = io.isthmus.trust.x509.Certificates.uriSans(cert).get(0);
            return new X509Svid(SpiffeId.parse(uri), keys.getPrivate(), chain);
        }

        /** The certificate alone, for rule breakers that cannot be an {@link X509Svid} (e.g. two URI SANs). */
        public List<X509Certificate> chainSignedBy(CaCredential issuer) {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(build(issuer.certificate(), issuer.key()));
            chain.addAll(issuer.chain());
            return chain;
        }

        /** A self-signed certificate (e.g. a rogue root), returned with its key as a CA credential when it is a CA. */
        public X509Certificate selfSigned() {
            return build(null, keys.getPrivate());
        }

        public KeyPair keyPair() {
            return keys;
        }

        private X509Certificate build(X509Certificate issuer, PrivateKey issuerKey) {
            try {
                X500Name issuerName = issuer == null ? subject : new JcaX509CertificateHolder(issuer).getSubject();
                PublicKey issuerPublic = issuer == null ? keys.getPublic() : issuer.getPublicKey();
                X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
                        BigInteger.valueOf(SERIALS.incrementAndGet()), Date.from(notBefore), Date.from(notAfter), subject,
                        keys.getPublic());
                JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
                add(b, Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
                add(b, Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(issuerPublic));
                add(b, Extension.basicConstraints, true, ca ? new BasicConstraints(0) : new BasicConstraints(false));
                if (keyUsage != 0) {
                    add(b, Extension.keyUsage, true, new KeyUsage(keyUsage));
                }
                if (!ca) {
                    add(b, Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
                }
                if (!uris.isEmpty()) {
                    GeneralName[] names = uris.stream()
                            .map(u -> new GeneralName(GeneralName.uniformResourceIdentifier, u)).toArray(GeneralName[]::new);
                    add(b, Extension.subjectAlternativeName, false, new GeneralNames(names));
                }
                if (permitted != null) {
                    add(b, Extension.nameConstraints, true, new NameConstraints(permitted, null));
                }
                return new JcaX509CertificateConverter().getCertificate(b.build(
                        new JcaContentSignerBuilder(Crypto.signatureAlgorithm(issuerKey)).setProvider(Crypto.BC)
                                .build(issuerKey)));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        private static void add(X509v3CertificateBuilder b, ASN1ObjectIdentifier oid, boolean critical, ASN1Encodable v)
                throws org.bouncycastle.cert.CertIOException {
            b.addExtension(oid, critical, v);
        }
    }

    /** A CA credential for a rule-breaking CA certificate built with {@link #leaf()} (e.g. a rogue root). */
    public static CaCredential credential(LeafBuilder builder, X509Certificate cert) {
        return new CaCredential(builder.keyPair().getPrivate(), List.of(cert));
    }
}
