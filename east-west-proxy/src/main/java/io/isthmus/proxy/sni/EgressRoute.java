package io.isthmus.proxy.sni;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;

import io.isthmus.registry.ExportedService;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;

/**
 * What the egress does with a local caller's connection, decided from its first bytes: {@link Passthrough} when it is
 * a TLS ClientHello whose server name is a route name ({@link RouteName}) of a port that the exporting clusters
 * declare {@code mtls}: the caller holds its own SVID and speaks TLS with the destination workload, so the egress
 * relays the bytes, undecrypted, to those clusters' ingresses. Anything else is {@link Terminate}d as before (the
 * caller authenticates to the egress, whose requests carry its identity).
 *
 * <p>The egress cannot authenticate a passthrough caller (it never sees its certificate); the destination workload
 * does. What a caller can reach this way is what the registry says accepts it, nothing else.
 */
public sealed interface EgressRoute {

    record Terminate() implements EgressRoute {
    }

    /** {@code exports} are the routable exports that declare the port {@code mtls}, nearest first (never empty). */
    record Passthrough(RouteName route, List<ExportedService> exports) implements EgressRoute {
        public Passthrough {
            Objects.requireNonNull(route, "route");
            exports = List.copyOf(exports);
            if (exports.isEmpty()) {
                throw new IllegalArgumentException("a passthrough route needs at least one export");
            }
        }
    }

    /**
     * Pure given a pure {@code resolve}.
     *
     * @param sni     the ClientHello's server name; null for a plaintext connection or a ClientHello without one
     * @param resolve the routable exports of a mesh name, nearest first (the egress's resolver)
     */
    static EgressRoute decide(String sni, String suffix, Function<MeshName, List<ExportedService>> resolve) {
        if (!(RouteName.parse(sni, suffix) instanceof RouteName.Parsed.Route r)) {
            return new Terminate();
        }
        RouteName route = r.route();
        List<ExportedService> passthrough = resolve.apply(route.name()).stream().filter(e -> e.ports().stream()
                .anyMatch(p -> p.port() == route.port() && p.protocol() == Protocol.MTLS)).toList();
        return passthrough.isEmpty() ? new Terminate() : new Passthrough(route, passthrough);
    }
}
