package io.isthmus.trust.x509;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.spec.ECGenParameterSpec;

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
