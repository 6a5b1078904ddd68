package io.isthmus.registry.signing;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.isthmus.trust.x509.Crypto;

/**
 * The signature primitive of registry records. The signed message is a fixed context string followed by the record's
 * bytes, so a registry signature can never pass for a signature of anything else the SVID key signs (a TLS handshake
 * transcript, a CSR), nor the other way round. The algorithm follows the key; it is never read from the record.
 */
final class EntrySignatures {
    private static final byte[] CONTEXT = "isthmus registry record v1\n".getBytes(StandardCharsets.US_ASCII);

    /**
     * Keys in BouncyCastle's own form, by the key they were converted from: converting on every signature, and
     * recomputing an EC point's multiples for every new key object, cost more than the signature itself. A gateway
     * signs with one SVID key at a time and verifies a handful of peers' leaves, so these stay small.
     */
    private static final Map<Object, Object> BC_KEYS = new ConcurrentHashMap<>();
    private static final int MAX_KEYS = 256;

    private EntrySignatures() {
    }

    private static <K> K bc(K key, java.util.function.Function<K, K> convert) {
        @SuppressWarnings("unchecked")
        K known = (K) BC_KEYS.get(key);
        if (known != null) {
            return known;
        }
        K converted = convert.apply(key);
        if (BC_KEYS.size() >= MAX_KEYS) {
            BC_KEYS.clear();
        }
        BC_KEYS.put(key, converted);
        return converted;
    }

    static byte[] sign(PrivateKey key, byte[] record) {
        try {
            Signature s = Signature.getInstance(Crypto.signatureAlgorithm(key), Crypto.BC);
            s.initSign(bc(key, Crypto::bcPrivateKey));
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
            s.initVerify(bc(key, Crypto::bcPublicKey));
            s.update(CONTEXT);
            s.update(record);
            return s.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }
}
