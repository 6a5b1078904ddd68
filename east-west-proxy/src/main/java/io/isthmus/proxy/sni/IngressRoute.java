package io.isthmus.proxy.sni;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.proxy.ingress.LocalBackends;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;

/**
 * What the ingress does with a connection, decided from its ClientHello's server name alone, before any handshake:
 * <ul>
 * <li>{@link Terminate}: no route name (no SNI, an address, the gateway's host name, a bare mesh name): mutual TLS
 * with the gateway, then HTTP or CONNECT, each request authorized as it always was;</li>
 * <li>{@link TerminateTcp}: a route name of a port this cluster exports as {@code tcp}: mutual TLS with the gateway,
 * then exactly one {@code CONNECT} to that name and port, whose caller is decided by the vouching rules and
 * authorized by the L4 policy;</li>
 * <li>{@link Passthrough}: a route name of a port exported as {@code mtls}: the bytes go, undecrypted, to that
 * port's backend, which authenticates and authorizes the caller itself;</li>
 * <li>{@link Refused}: any other route name; the connection is closed without a handshake.</li>
 * </ul>
 * A caller chooses the name, so the name alone never grants anything: what it may reach is what this cluster's
 * exports declare. Only a port declared {@code mtls} is reachable without the gateway authorizing the caller.
 */
public sealed interface IngressRoute {

    record Terminate() implements IngressRoute {
    }

    record TerminateTcp(RouteName route) implements IngressRoute {
        public TerminateTcp {
            Objects.requireNonNull(route, "route");
        }
    }

    record Passthrough(RouteName route, InetSocketAddress backend) implements IngressRoute {
        public Passthrough {
            Objects.requireNonNull(route, "route");
            Objects.requireNonNull(backend, "backend");
        }
    }

    record Refused(SniRefusal reason, String detail) implements IngressRoute {
        public Refused {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }
    }

    /**
     * Pure and thread-safe (given thread-safe arguments); no I/O.
     *
     * @param sni      the ClientHello's server name, null when it sent none
     * @param suffix   the mesh suffix
     * @param exports  this cluster's exports
     * @param backends where this cluster's exported ports are served
     */
    static IngressRoute decide(String sni, String suffix, LocalExports exports, LocalBackends backends) {
        RouteName.Parsed parsed = RouteName.parse(sni, suffix);
        if (parsed instanceof RouteName.Parsed.NotARoute) {
            return new Terminate();
        }
        if (parsed instanceof RouteName.Parsed.Malformed m) {
            return new Refused(SniRefusal.MALFORMED, m.detail());
        }
        RouteName route = ((RouteName.Parsed.Route) parsed).route();
        Optional<List<ServicePort>> ports = exports.portsOf(route.name());
        if (ports.isEmpty()) {
            return new Refused(SniRefusal.UNKNOWN_SERVICE, "this cluster exports no " + route.name().host()
                    + " (server name " + route.sni() + ")");
        }
        Optional<ServicePort> port = ports.get().stream().filter(p -> p.port() == route.port()).findFirst();
        if (port.isEmpty()) {
            return new Refused(SniRefusal.UNKNOWN_PORT, route.name().host() + " is exported here on port(s) "
                    + ports.get().stream().map(p -> p.port() + "/" + p.protocol().name().toLowerCase(java.util.Locale.ROOT))
                            .toList() + ", not " + route.port());
        }
        Protocol protocol = port.get().protocol();
        if (protocol == Protocol.TCP) {
            return new TerminateTcp(route);
        }
        if (!protocol.isPassthrough()) {
            return new Refused(SniRefusal.HTTP_PORT, "port " + route.port() + " of " + route.name().host() + " speaks "
                    + protocol.name().toLowerCase(java.util.Locale.ROOT) + ": each request is authorized by the gateway,"
                    + " so it is not reachable as a stream by server name; call it over HTTP through your egress");
        }
        Optional<InetSocketAddress> backend = backends.resolve(route.name(), route.port());
        if (backend.isEmpty()) {
            return new Refused(SniRefusal.NO_BACKEND, "no backend serves passthrough port " + route.port() + " of "
                    + route.name().host() + " on this gateway");
        }
        for (ServicePort other : ports.get()) {
            if (!other.protocol().isPassthrough()
                    && backends.resolve(route.name(), other.port()).filter(backend.get()::equals).isPresent()) {
                return new Refused(SniRefusal.SHARED_BACKEND, "passthrough port " + route.port() + " of "
                        + route.name().host() + " has the backend " + hostPort(backend.get()) + " of its "
                        + other.protocol().name().toLowerCase(java.util.Locale.ROOT) + " port " + other.port()
                        + ", which expects the gateway to authorize callers; give the passthrough port its own backend");
            }
        }
        return new Passthrough(route, backend.get());
    }

    /** {@code host:port} of an address, resolved or not (an unresolved one prints oddly by default). */
    static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }
}
