package io.isthmus.gateway.authz;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.PolicyId;
import io.isthmus.proxy.authz.policy.PolicyMode;

/**
 * {@code isthmus.authz.observe} as mode policies of the {@value #SOURCE} source: {@code *} is the whole mesh (a mode
 * policy of the root namespace), {@code <ns>} a namespace, {@code <ns>/<service>} one service. Pure.
 */
final class ObserveScopes {
    static final String SOURCE = "config";
    static final String KEY = "isthmus.authz.observe";
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private ObserveScopes() {
    }

    /** @throws ConfigException naming the key and the entry that is not a scope */
    static List<AuthorizationPolicy> policies(List<String> entries, String rootNamespace) {
        List<AuthorizationPolicy> out = new ArrayList<>();
        for (String raw : entries) {
            String e = raw.trim();
            String origin = SOURCE + ":" + KEY + "=" + e;
            if (e.equals("*")) {
                out.add(AuthorizationPolicy.mode(new PolicyId(rootNamespace, KEY), Set.of(), PolicyMode.OBSERVE,
                        origin));
                continue;
            }
            String[] parts = e.split("/", -1);
            if (parts.length > 2 || !LABEL.matcher(parts[0]).matches()
                    || (parts.length == 2 && !LABEL.matcher(parts[1]).matches())) {
                throw new ConfigException(KEY, "'" + raw + "' is not a scope: expected '*' (the whole mesh), "
                        + "'<namespace>' or '<namespace>/<service>' (DNS labels), e.g. 'billing/payments'");
            }
            if (parts[0].equals(rootNamespace)) {
                // A mode policy of the root namespace governs every namespace (its selector, that service name in
                // every namespace): an operator who meant the gateway's own namespace would silently stop
                // enforcing the whole mesh.
                throw new ConfigException(KEY, "'" + raw + "' names the root namespace '" + rootNamespace
                        + "', whose policies apply to every namespace: write '*' to observe the whole mesh, or "
                        + "name the namespace of the services to observe");
            }
            out.add(AuthorizationPolicy.mode(new PolicyId(parts[0], KEY),
                    parts.length == 2 ? Set.of(parts[1]) : Set.of(), PolicyMode.OBSERVE, origin));
        }
        return out;
    }
}
