package io.isthmus.trust.x509;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;

import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Key generation and the signature algorithm choice. BouncyCastle is used as an explicit provider instance
 * (never registered JVM-wide): it signs and verifies ECDSA P-256 about twice and seven times as fast as SunEC
 * here (see shared/FACTS.md).
 */
public final class Crypto {
    /** Shared, stateless, not registered with {@link java.security.Security}. */
    public static final Provider BC = new BouncyCastleProvider();

    private Crypto() {
    }

    /** A fresh ECDSA P-256 key pair, the default for every Isthmus key. */
    public static KeyPair generateEcP256() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM cannot generate ECDSA P-256 keys", e);
        }
    }

    /** SHA256withECDSA or SHA256withRSA, matching the signing key. */
    public static String signatureAlgorithm(PrivateKey key) {
        if (key instanceof ECKey || "EC".equals(key.getAlgorithm())) {
            return "SHA256withECDSA";
        }
        if (key instanceof RSAKey || "RSA".equals(key.getAlgorithm())) {
            return "SHA256withRSA";
        }
        throw new IllegalArgumentException("unsupported key algorithm " + key.getAlgorithm() + "; use EC P-256 or RSA");
    }

    /**
     * {@code key} as a BouncyCastle key object. BouncyCastle converts a foreign (SunEC) key on every
     * {@code initVerify}, and keeps the precomputed multiples of an EC point on the point object of its own keys:
     * verifying many signatures with one converted key skips both the conversion and the precomputation.
     */
    public static PublicKey bcPublicKey(PublicKey key) {
        if (key.getClass().getName().startsWith("org.bouncycastle.")) {
            return key;
        }
        try {
            return KeyFactory.getInstance(key.getAlgorithm(), BC).generatePublic(new X509EncodedKeySpec(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read a " + key.getAlgorithm() + " public key: " + e.getMessage(), e);
        }
    }

    /** {@code key} as a BouncyCastle key object, converted once instead of at every signature. */
    public static PrivateKey bcPrivateKey(PrivateKey key) {
        if (key.getClass().getName().startsWith("org.bouncycastle.")) {
            return key;
        }
        try {
            return KeyFactory.getInstance(key.getAlgorithm(), BC).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read a " + key.getAlgorithm() + " private key: " + e.getMessage(), e);
        }
    }

    /** Whether {@code cert}'s signature verifies with {@code key} (use a {@link #bcPublicKey} for repeated checks). */
    public static boolean signatureVerifies(X509Certificate cert, PublicKey key) {
        try {
            Signature verifier = Signature.getInstance(cert.getSigAlgName(), BC);
            verifier.initVerify(key);
            verifier.update(cert.getTBSCertificate());
            return verifier.verify(cert.getSignature());
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /** Whether {@code privateKey} is the private half of {@code publicKey}, proven by a test signature. */
    public static boolean keysMatch(PrivateKey privateKey, PublicKey publicKey) {
        try {
            byte[] probe = "isthmus key match probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            String alg = signatureAlgorithm(privateKey);
            Signature signer = Signature.getInstance(alg, BC);
            signer.initSign(privateKey);
            signer.update(probe);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance(alg, BC);
            verifier.initVerify(publicKey);
            verifier.update(probe);
            return verifier.verify(sig);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }
}
