package io.isthmus.gateway.enrolment;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Makes and reads the text of a join token: {@code ijt1.<id>.<secret>}, where the id is 128 random bits and the
 * secret 256 random bits, both base64url without padding. Only {@link #hash(String) the secret's hash} is stored.
 * Pure apart from the random source; thread-safe.
 */
public final class JoinTokenSecrets {
    static final String PREFIX = "ijt1.";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private JoinTokenSecrets() {
    }

    /** A new token text and its parts; show {@code text} to the operator once, store {@code hash}. */
    public record Minted(String id, String secret, String text, String hash) {
    }

    /** The parts of a presented token text; the id may not exist, the secret may be wrong. */
    public record Presented(String id, String secret) {
    }

    public static Minted mint() {
        byte[] id = new byte[16];
        byte[] secret = new byte[32];
        RANDOM.nextBytes(id);
        RANDOM.nextBytes(secret);
        String idText = B64.encodeToString(id);
        String secretText = B64.encodeToString(secret);
        return new Minted(idText, secretText, PREFIX + idText + "." + secretText, hash(secretText));
    }

    /** Splits a presented token; empty when it does not even have the shape of one. */
    public static Optional<Presented> parse(String text) {
        if (text == null || !text.startsWith(PREFIX) || text.length() > 200) {
            return Optional.empty();
        }
        String rest = text.substring(PREFIX.length());
        int dot = rest.indexOf('.');
        if (dot <= 0 || dot == rest.length() - 1) {
            return Optional.empty();
        }
        String id = rest.substring(0, dot);
        String secret = rest.substring(dot + 1);
        if (!JoinToken.ID.matcher(id).matches() || !secret.matches("[A-Za-z0-9_-]{43}")) {
            return Optional.empty();
        }
        return Optional.of(new Presented(id, secret));
    }

    public static String hash(String secret) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(sha.digest(secret.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** Constant-time comparison of a presented secret with a stored hash. */
    public static boolean matches(String secret, String storedHash) {
        return MessageDigest.isEqual(hash(secret).getBytes(StandardCharsets.US_ASCII),
                storedHash.getBytes(StandardCharsets.US_ASCII));
    }
}
