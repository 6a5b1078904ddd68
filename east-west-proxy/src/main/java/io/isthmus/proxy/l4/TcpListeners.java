package io.isthmus.proxy.l4;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.listener.Listener;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.outlier.OutlierDetector;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.tunnel.HeldBytes;
import io.isthmus.proxy.tunnel.Tunnels;
import io.isthmus.registry.Locality;
import io.isthmus.registry.ServiceResolver;
import io.isthmus.trust.endpoint.ConnectionGate;
import io.netty.channel.socket.SocketChannel;

/**
 * The egress's per-service TCP listeners ({@link TcpListenerSpec}): local clients that cannot send CONNECT (psql,
 * redis-cli, any TCP client) connect to a listener and are carried to its service and port. Each connection goes to
 * the nearest cluster exporting the port as {@code tcp}, over mutual TLS with this gateway's SVID to that cluster's
 * ingress, whose gateway SVID must be of that cluster's trust domain; the ClientHello names the route
 * ({@link io.isthmus.proxy.sni.RouteName}) and the connection carries one {@code CONNECT} with the caller's identity
 * in {@code x-isthmus-caller}, exactly as the egress's own CONNECT does. The destination decides; a refusal closes
 * the client's connection.
 *
 * <p>The bound addresses are announced by {@link #bound()} (for the API's listener table) and logged at start.
 * Each listener is a {@link Listener} (the data plane's one bootstrap): {@code egress-tcp} in logs and metrics.
 */
public final class TcpListeners implements AutoCloseable {
    static final String LISTENER = "egress-tcp";

    private final NettyTransport transport;
    private final ProxySettings settings;
    private final ProxyTls tls;
    private final ServiceResolver resolver;
    private final Locality locality;
    private final ProxyMetrics metrics;
    private final Telemetry telemetry;
    private final Tunnels tunnels;
    private final OutlierDetector outliers;
    private final Map<TcpListenerSpec, Listener> listeners = new LinkedHashMap<>();
    /** One count for all the TCP listeners, with the egress's limits: a client flooding several holds no more. */
    private final ConnectionGate gate;

    /**
     * @param outliers  the egress's outlier detector: clusters it skips are tried last here too
     * @param telemetry the egress's: each connection is counted and gets one access-log line ({@code kind=tunnel})
     */
    public TcpListeners(NettyTransport transport, ProxySettings settings, ProxyTls tls, ServiceResolver resolver,
            Locality locality, ProxyMetrics metrics, Telemetry telemetry, OutlierDetector outliers) {
        this.outliers = outliers;
        this.transport = transport;
        this.settings = settings;
        this.tls = tls;
        this.resolver = resolver;
        this.locality = locality;
        this.metrics = metrics;
        this.telemetry = Objects.requireNonNull(telemetry, "telemetry");
        this.tunnels = new Tunnels(transport, settings);
        this.gate = Listener.gate(LISTENER + " listeners", settings.egressConnections());
    }

    /** One bound listener, as announced. */
    public record Bound(TcpListenerSpec spec, InetSocketAddress address) {
    }

    /** Binds every listener (all or none: a failure closes those already bound and throws). */
    public List<Bound> start(List<TcpListenerSpec> specs) {
        try {
            for (TcpListenerSpec spec : specs) {
                Listener listener = new Listener(LISTENER, transport, settings, gate, metrics,
                        c -> accepted(spec, c));
                listeners.put(spec, listener);
                listener.start(spec.bind(), spec.name() + " -> " + spec.route().authority() + ", " + spec
                        .plaintextCaller().map(c -> "plaintext clients act as " + c).orElse("TLS clients with their SVID"));
            }
            return bound();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Pipeline of a client connection: {@code idle}, then either {@code tls} and {@link HeldBytes} (a TLS listener:
     * the caller is the SVID of the handshake) or nothing read at all until the tunnel stands (a plaintext listener),
     * then {@link TcpCaller}.
     */
    private void accepted(TcpListenerSpec spec, SocketChannel c) {
        if (spec.plaintextCaller().isEmpty()) {
            c.pipeline().addLast("tls", listeners.get(spec).tls(tls.egress(), c)).addLast(HeldBytes.NAME,
                    new HeldBytes());
        } else {
            // Nothing is read before the tunnel stands: the client's bytes wait in the socket.
            c.config().setAutoRead(false);
        }
        c.pipeline().addLast(TcpCaller.NAME, new TcpCaller(spec, this));
    }

    /** Every listener and the address it is bound to. */
    public List<Bound> bound() {
        List<Bound> out = new ArrayList<>();
        listeners.forEach((spec, l) -> out.add(new Bound(spec, l.address())));
        return out;
    }

    ProxySettings settings() {
        return settings;
    }

    ProxyTls tls() {
        return tls;
    }

    ServiceResolver resolver() {
        return resolver;
    }

    Locality locality() {
        return locality;
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    Telemetry telemetry() {
        return telemetry;
    }

    OutlierDetector outliers() {
        return outliers;
    }

    Tunnels tunnels() {
        return tunnels;
    }

    /** Re-verifies the SVIDs of TLS clients against the current bundles, closing those that fail. */
    public void revalidate() {
        listeners.values().forEach(l -> l.revalidate(tls, metrics));
    }

    @Override
    public void close() {
        listeners.values().forEach(Listener::close);
    }
}
