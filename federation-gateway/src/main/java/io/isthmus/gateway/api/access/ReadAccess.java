package io.isthmus.gateway.api.access;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.gateway.enrolment.BootstrapToken;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509SvidVerifier;

/**
 * Who may read what the API port knows about the federation (every service, its identities and ingress address;
 * the set of federated trust domains): a workload of any federated trust domain, proven by its SVID, or an admin
 * with the bootstrap token. An admin SVID is an SVID of the federation, so it reads too.
 *
 * <p>Order: plain HTTP is refused; an Authorization header, when present, decides alone (a wrong token is refused
 * even next to a good certificate: a credential that fails is never silently replaced by another); else the
 * client SVID is verified again now, because a keep-alive connection outlives its handshake (the SVID may have
 * expired or its trust domain been revoked since); else the caller is anonymous.
 *
 * <p>Pure: no I/O; the verifier reads the live bundles and the clock. Thread-safe.
 */
public final class ReadAccess {
    private ReadAccess() {
    }

    /** What one request brings. {@code chain} is the client certificate chain of its TLS session (may be empty). */
    public record Request(boolean tls, Optional<String> authorization, List<X509Certificate> chain) {
        public Request {
            Objects.requireNonNull(authorization, "authorization");
            chain = List.copyOf(chain);
        }
    }

    public static ReadVerdict decide(Request request, BootstrapToken.Setting token, X509SvidVerifier verifier) {
        if (!request.tls()) {
            return new ReadVerdict.Refused(ReadRefusal.TLS_REQUIRED,
                    "the API is served over TLS only; use https:// with a client SVID or the bootstrap admin token");
        }
        Optional<String> authorization = request.authorization().filter(a -> !a.isBlank());
        if (authorization.isPresent()) {
            return bearer(authorization.get(), token);
        }
        if (!request.chain().isEmpty()) {
            SvidVerdict verdict = verifier.verify(request.chain());
            if (verdict instanceof SvidVerdict.Rejected r) {
                return new ReadVerdict.Refused(ReadRefusal.SVID_REJECTED, "client SVID rejected (" + r.reason().label()
                        + "): " + r.message() + "; present a current SVID of a federated trust domain");
            }
            return new ReadVerdict.Granted(((SvidVerdict.Verified) verdict).id().toString(),
                    ReadVerdict.Via.FEDERATED_SVID);
        }
        return new ReadVerdict.Refused(ReadRefusal.UNAUTHENTICATED, "reading the registry needs an SVID of a federated "
                + "trust domain as TLS client certificate, or 'Authorization: Bearer <bootstrap admin token>'");
    }

    private static ReadVerdict bearer(String authorization, BootstrapToken.Setting token) {
        Optional<String> presented = BootstrapToken.bearer(authorization);
        if (presented.isEmpty()) {
            return new ReadVerdict.Refused(ReadRefusal.TOKEN_REJECTED,
                    "the Authorization header must be 'Bearer <bootstrap admin token>'");
        }
        if (token instanceof BootstrapToken.Setting.Absent absent) {
            return new ReadVerdict.Refused(ReadRefusal.TOKEN_REJECTED, absent.why() + "; use a client SVID");
        }
        if (!BootstrapToken.matches(presented.get(), Optional.of(((BootstrapToken.Setting.Configured) token).token()))) {
            return new ReadVerdict.Refused(ReadRefusal.TOKEN_REJECTED, "the bearer token is not the bootstrap admin token");
        }
        return new ReadVerdict.Granted("bootstrap-admin", ReadVerdict.Via.BOOTSTRAP_TOKEN);
    }
}
