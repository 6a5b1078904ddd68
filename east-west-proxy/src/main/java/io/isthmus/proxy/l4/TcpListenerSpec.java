package io.isthmus.proxy.l4;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.sni.RouteName;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * One TCP service a local client reaches without CONNECT: the egress listens on {@code bind} and carries each
 * connection to {@code route} (a port a cluster exports as {@code tcp}), the caller's identity vouched for by this
 * gateway and authorized by the destination's L4 policy.
 *
 * <p>Who the caller is: a client that opens TLS and presents its SVID (this trust domain's) is itself. A plaintext
 * client carries no identity, so a listener accepts plaintext only when it names, in {@code plaintextCaller}, the
 * identity that everyone who can reach it acts as: bind such a listener where only that workload can connect (a
 * pod-local or VM-local address, or behind a NetworkPolicy). Without it, the listener is TLS-only.
 *
 * @param name            the configuration name (logs, the listener table)
 * @param route           the service and port connections go to
 * @param bind            where to listen; port 0 picks a free port, announced once bound
 * @param plaintextCaller the identity plaintext clients act as; empty: TLS clients with an SVID only
 */
public record TcpListenerSpec(String name, RouteName route, InetSocketAddress bind, Optional<SpiffeId> plaintextCaller) {

    public TcpListenerSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(route, "route");
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(plaintextCaller, "plaintextCaller");
    }

    /** Why a listener's configuration was refused. */
    public enum Problem {
        NOT_A_MESH_NAME, PORT_OUT_OF_RANGE, BAD_BIND_ADDRESS, CALLER_NOT_A_SPIFFE_ID, CALLER_OF_ANOTHER_TRUST_DOMAIN,
        CALLER_IS_A_GATEWAY
    }

    /** A refused listener configuration: {@code field} names what was wrong, the message quotes it. */
    public static final class InvalidSpecException extends IllegalArgumentException {
        private final Problem problem;
        private final String field;

        InvalidSpecException(Problem problem, String field, String message) {
            super(message);
            this.problem = problem;
            this.field = field;
        }

        public Problem problem() {
            return problem;
        }

        public String field() {
            return field;
        }
    }

    /**
     * Builds a spec from configuration text. Pure.
     *
     * @param local    this gateway's trust domain: a plaintext caller must be one of its identities
     * @param gateways gateway identities: a listener may not make anonymous clients into a gateway
     * @throws InvalidSpecException naming the field (service, port, bind, plaintext-caller) and quoting the value
     */
    public static TcpListenerSpec parse(String name, String service, int port, String bind,
            Optional<String> plaintextCaller, String suffix, TrustDomain local, GatewayIdentities gateways) {
        MeshName mesh = MeshName.parseHost(service, suffix).filter(m -> !service.contains(":")).orElseThrow(
                () -> new InvalidSpecException(Problem.NOT_A_MESH_NAME, "service", "'" + service
                        + "' is not a mesh name <service>.<namespace>." + suffix + " (name the port in 'port')"));
        if (port < 1 || port > 65535) {
            throw new InvalidSpecException(Problem.PORT_OUT_OF_RANGE, "port", "port " + port
                    + " is outside 1-65535; use the port the service is exported with");
        }
        InetSocketAddress address = bindAddress(bind);
        Optional<SpiffeId> caller = Optional.empty();
        if (plaintextCaller.isPresent() && !plaintextCaller.get().isBlank()) {
            String text = plaintextCaller.get().trim();
            SpiffeId id = SpiffeId.tryParse(text).orElseThrow(() -> new InvalidSpecException(
                    Problem.CALLER_NOT_A_SPIFFE_ID, "plaintext-caller", "'" + text + "' is not a SPIFFE ID"));
            if (!id.memberOf(local)) {
                throw new InvalidSpecException(Problem.CALLER_OF_ANOTHER_TRUST_DOMAIN, "plaintext-caller", id
                        + " is not of this gateway's trust domain " + local + "; a gateway vouches only for its own");
            }
            if (gateways.isGateway(id)) {
                throw new InvalidSpecException(Problem.CALLER_IS_A_GATEWAY, "plaintext-caller", id + " is a gateway"
                        + " identity; plaintext clients must act as a workload's identity, never a gateway's");
            }
            caller = Optional.of(id);
        }
        return new TcpListenerSpec(name, new RouteName(mesh, port), address, caller);
    }

    private static InetSocketAddress bindAddress(String bind) {
        String text = bind == null ? "" : bind.trim();
        int colon = text.lastIndexOf(':');
        String host = colon > 0 ? text.substring(0, colon) : "";
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = -1;
        try {
            port = colon > 0 ? Integer.parseInt(text.substring(colon + 1)) : -1;
        } catch (NumberFormatException e) {
            // reported below
        }
        if (host.isEmpty() || port < 0 || port > 65535) {
            throw new InvalidSpecException(Problem.BAD_BIND_ADDRESS, "bind", "bind '" + bind + "' is not host:port"
                    + " with a port 0-65535 (0 picks a free one), e.g. 0.0.0.0:15432");
        }
        return new InetSocketAddress(host, port);
    }
}
