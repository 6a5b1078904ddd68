package io.isthmus.registry.signing;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;

import io.isthmus.trust.x509.Crypto;

/**
 * The signature primitive of registry records. The signed message is a fixed context string followed by the record's
 * bytes, so a registry signature can never pass for a signature of anything else the SVID key signs (a TLS handshake
 * transcript, a CSR), nor the other way round. The algorithm follows the key; it is never read from the record.
 */
final class EntrySignatures {
    private static final byte[] CONTEXT = "isthmus registry record v1\n".getBytes(StandardCharsets.US_ASCII);

    private EntrySignatures() {
    }

    static byte[] sign(PrivateKey key, byte[] record) {
        try {
            Signature s = Signature.getInstance(Crypto.signatureAlgorithm(key), Crypto.BC);
            s.initSign(Crypto.bcPrivateKey(key));
            s.update(CONTEXT);
            s.update(record);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a registry record with the gateway SVID key: " + e.getMessage(), e);
        }
    }

    static boolean verifies(PublicKey key, byte[] record, byte[] signature) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> null;
        };
        if (algorithm == null) {
            return false;
        }
        try {
            Signature s = Signature.getInstance(algorithm, Crypto.BC);
            s.initVerify(Crypto.bcPublicKey(key));
            s.update(CONTEXT);
            s.update(record);
            return s.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }
}
