package io.isthmus.gateway.enrolment;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * The bootstrap admin token ({@code isthmus.admin.bootstrap-token-file}), re-read on every call so that it can be
 * rotated, and the constant-time check of a presented token against it. Shared by admin calls ({@link AdminAuth})
 * and registry reads. Thread-safe.
 */
@ApplicationScoped
public class BootstrapToken {
    static final int MIN_LENGTH = 32;

    private final AdminConfig config;

    @Inject
    public BootstrapToken(AdminConfig config) {
        this.config = config;
    }

    /** What the file holds right now: a usable token, or why there is none. */
    public sealed interface Setting {
        /** A token of at least {@value BootstrapToken#MIN_LENGTH} characters. */
        record Configured(String token) implements Setting {
            @Override
            public String toString() {
                return "Configured[token=<redacted>]";
            }
        }

        /** No usable token; {@code why} says what to fix, without the token's content. */
        record Absent(String why) implements Setting {
        }
    }

    public Setting read() {
        if (config.bootstrapTokenFile().isEmpty()) {
            return new Setting.Absent("no bootstrap admin token is configured (isthmus.admin.bootstrap-token-file)");
        }
        try {
            String t = Files.readString(config.bootstrapTokenFile().get(), StandardCharsets.UTF_8).trim();
            if (t.length() < MIN_LENGTH) {
                return new Setting.Absent("the bootstrap admin token in " + config.bootstrapTokenFile().get()
                        + " is shorter than " + MIN_LENGTH + " characters and is not accepted");
            }
            return new Setting.Configured(t);
        } catch (IOException e) {
            return new Setting.Absent("cannot read isthmus.admin.bootstrap-token-file "
                    + config.bootstrapTokenFile().get() + ": " + e.getMessage());
        }
    }

    /**
     * Whether {@code authorization} is {@code Bearer <token>} with exactly the configured token. Hashing both sides
     * first makes the comparison take the same time whatever the lengths.
     */
    public static boolean matches(String presented, Optional<String> expected) {
        return presented != null && expected.isPresent()
                && MessageDigest.isEqual(sha256(presented), sha256(expected.get()));
    }

    /** The token of an {@code Authorization: Bearer <token>} header, or empty for any other scheme. */
    public static Optional<String> bearer(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        return Optional.of(authorization.substring(7).trim());
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
