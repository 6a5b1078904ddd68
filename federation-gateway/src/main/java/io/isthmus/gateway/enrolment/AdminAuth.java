package io.isthmus.gateway.enrolment;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidVerdict;

/**
 * Authenticates admin calls: a bearer token equal to the bootstrap token file's content (constant-time), or a
 * client SVID that verifies under the federation and is one of {@code isthmus.admin.spiffe-ids}. Anything else,
 * including no credential at all, is refused.
 */
@ApplicationScoped
public class AdminAuth {
    static final int MIN_TOKEN_LENGTH = 32;

    private final AdminConfig config;
    private final TrustService trust;

    @Inject
    public AdminAuth(AdminConfig config, TrustService trust) {
        this.config = config;
        this.trust = trust;
    }

    /** Authenticates the admin caller of {@code request}; for admin resources outside this package. */
    public String authenticate(io.vertx.core.http.HttpServerRequest request, String authorization) {
        return authenticate(HttpPeer.of(request), authorization);
    }

    /** @return the authenticated principal, for the audit log */
    public String authenticate(HttpPeer peer, String authorization) {
        peer.requireTls();
        if (authorization != null && !authorization.isBlank()) {
            return bearer(authorization);
        }
        if (!peer.chain().isEmpty()) {
            SvidVerdict v = trust.runtime().verifier().verify(peer.chain());
            if (v instanceof SvidVerdict.Rejected r) {
                throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "client SVID rejected ("
                        + r.reason().label() + "): " + r.message());
            }
            SpiffeId id = ((SvidVerdict.Verified) v).id();
            List<String> admins = config.spiffeIds().orElse(List.of());
            if (!admins.contains(id.toString())) {
                throw new EnrolmentException(EnrolmentError.ADMIN_FORBIDDEN, id + " is not an admin (isthmus.admin.spiffe-ids "
                        + admins + ")");
            }
            return id.toString();
        }
        throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "admin calls need 'Authorization: Bearer "
                + "<bootstrap admin token>' or an admin SVID as TLS client certificate");
    }

    private String bearer(String authorization) {
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "the Authorization header must be "
                    + "'Bearer <bootstrap admin token>'");
        }
        Optional<String> expected = bootstrapToken();
        if (expected.isEmpty()) {
            throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "no bootstrap admin token is configured "
                    + "(isthmus.admin.bootstrap-token-file); use an admin SVID");
        }
        String presented = authorization.substring(7).trim();
        if (!MessageDigest.isEqual(sha256(presented), sha256(expected.get()))) {
            throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "the bearer token is not the bootstrap "
                    + "admin token");
        }
        return "bootstrap-admin";
    }

    private Optional<String> bootstrapToken() {
        if (config.bootstrapTokenFile().isEmpty()) {
            return Optional.empty();
        }
        try {
            String t = Files.readString(config.bootstrapTokenFile().get(), StandardCharsets.UTF_8).trim();
            if (t.length() < MIN_TOKEN_LENGTH) {
                throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "the bootstrap admin token in "
                        + config.bootstrapTokenFile().get() + " is shorter than " + MIN_TOKEN_LENGTH
                        + " characters and is not accepted");
            }
            return Optional.of(t);
        } catch (IOException e) {
            throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "cannot read isthmus.admin.bootstrap-token-file "
                    + config.bootstrapTokenFile().get() + ": " + e.getMessage());
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
