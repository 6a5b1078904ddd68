package io.isthmus.gateway.authz.explain;

import java.util.Optional;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.http.path.PathVerdict;

/**
 * Explains a call with the ingress's own parts, not a copy of them: the {@link PathNormalizer} configured for the
 * ingress ({@code isthmus.proxy.path-normalization}) and the live {@link Authorizer} the ingress asks. Like the
 * ingress, it refuses a path before any policy and asks policy about the normalized path without its query. Pure
 * apart from reading the authorizer's current policy set; thread-safe.
 */
public final class PolicyExplainer {
    private final PathNormalizer paths;
    private final Authorizer authorizer;

    public PolicyExplainer(PathNormalizer paths, Authorizer authorizer) {
        this.paths = paths;
        this.authorizer = authorizer;
    }

    public Explanation explain(ExplainRequest r, boolean servedHere) {
        String mode = paths.mode().configName();
        AccessRequest access;
        Optional<String> normalized = Optional.empty();
        if (r.method().isPresent()) {
            PathVerdict verdict = paths.normalize(r.path().get());
            if (verdict instanceof PathVerdict.Refused refused) {
                return new Explanation("refused", 400, refused.reason().code(), "", "", refused.detail(),
                        Optional.empty(), mode, java.util.List.of(), servedHere);
            }
            String path = ((PathVerdict.Normalized) verdict).path();
            normalized = Optional.of(path);
            access = AccessRequest.http(r.caller(), r.destination(), r.port(), r.method().get(), path);
        } else {
            access = AccessRequest.tcp(r.caller(), r.destination(), r.port());
        }
        Decision d = authorizer.authorize(access);
        return switch (d) {
            case Decision.Allowed a -> new Explanation("allow", 200, "allowed", a.policy(), a.rule(), "", normalized,
                    mode, a.auditMatches(), servedHere);
            case Decision.Denied x -> new Explanation("deny", 403, x.reason().code(), x.policy(), x.rule(),
                    x.detail(), normalized, mode, x.auditMatches(), servedHere);
        };
    }
}
