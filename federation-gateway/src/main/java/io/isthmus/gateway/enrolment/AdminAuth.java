package io.isthmus.gateway.enrolment;

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
    private final AdminConfig config;
    private final TrustService trust;
    private final BootstrapToken token;

    @Inject
    public AdminAuth(AdminConfig config, TrustService trust, BootstrapToken token) {
        this.config = config;
        this.trust = trust;
        this.token = token;
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
        Optional<String> presented = BootstrapToken.bearer(authorization);
        if (presented.isEmpty()) {
            throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "the Authorization header must be "
                    + "'Bearer <bootstrap admin token>'");
        }
        BootstrapToken.Setting setting = token.read();
        if (setting instanceof BootstrapToken.Setting.Absent absent) {
            throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, absent.why() + "; use an admin SVID");
        }
        String expected = ((BootstrapToken.Setting.Configured) setting).token();
        if (!BootstrapToken.matches(presented.get(), Optional.of(expected))) {
            throw new EnrolmentException(EnrolmentError.ADMIN_UNAUTHENTICATED, "the bearer token is not the bootstrap "
                    + "admin token");
        }
        return "bootstrap-admin";
    }
}
