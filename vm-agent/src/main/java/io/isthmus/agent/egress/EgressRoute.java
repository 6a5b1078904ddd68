package io.isthmus.agent.egress;

import java.util.function.Function;

/**
 * Where the local egress sends an app's connection, decided from its first request. Pure: the registry lookup behind
 * {@code passthrough} is the caller's.
 * <ul>
 * <li>CONNECT goes to the gateway's egress, which resolves the mesh name, authorizes the VM exactly as for a request
 * (policy at the destination's ingress) and answers 200 before the tunnel carries bytes, or refuses with its status and
 * reason.</li>
 * <li>A request to a destination that declares passthrough goes end to end (TLS with the VM's SVID to the workload);
 * a destination that declares it but cannot be called that way is refused here (502).</li>
 * <li>Anything else goes to the gateway's egress, unchanged: it validates the request and refuses what names no mesh
 * service.</li>
 * </ul>
 */
public final class EgressRoute {
    private EgressRoute() {
    }

    public sealed interface Route {
    }

    /** The whole connection is relayed to the gateway's egress over TLS with the VM's SVID. */
    public record ViaGateway() implements Route {
    }

    /** This request alone is sent end to end to the workload. */
    public record EndToEnd(PassthroughChoice.Passthrough route) implements Route {
    }

    /** Answer the app {@code status} with {@code detail} and close. */
    public record Refused(int status, String detail) implements Route {
    }

    /** @param passthrough how a request naming {@code host} is routed (null: no passthrough at all) */
    public static Route choose(FirstRequest request, Function<String, PassthroughChoice.Choice> passthrough) {
        if (request.host() == null) {
            return new Refused(400, "the request names no service: send Host: <service>.<namespace>.svc.clusterset.local,"
                    + " an absolute URI, or CONNECT <service>.<namespace>.svc.clusterset.local:<port>");
        }
        if (request.connect() || passthrough == null) {
            return new ViaGateway();
        }
        PassthroughChoice.Choice c = passthrough.apply(request.host());
        return switch (c) {
            case PassthroughChoice.ViaGateway v -> new ViaGateway();
            case PassthroughChoice.Passthrough p -> new EndToEnd(p);
            case PassthroughChoice.Refused r -> new Refused(502, r.detail());
        };
    }
}
