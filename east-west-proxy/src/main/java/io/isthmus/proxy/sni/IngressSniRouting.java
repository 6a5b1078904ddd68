package io.isthmus.proxy.sni;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.isthmus.proxy.ingress.IngressEntry;
import io.isthmus.proxy.ingress.LocalBackends;
import io.isthmus.proxy.l4.TunnelGuard;
import io.isthmus.proxy.passthrough.PassthroughAccessLog;
import io.isthmus.proxy.passthrough.PassthroughRelay;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.tunnel.Tunnels;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.SocketChannel;

/**
 * Routing of the ingress's connections by the server name of their ClientHello ({@link IngressRoute}), before the
 * TLS handler sees a byte: the ingress's {@link IngressEntry}. Its handler reads the ClientHello and, once:
 * <ul>
 * <li>terminate: installs the gateway's TLS and HTTP handlers and steps aside, as if it had never been there;</li>
 * <li>tcp: the same, with a {@link TunnelGuard} before {@code requestHandler} that lets through only one CONNECT to
 * the named port (the request handler then decides the caller, asks the L4 policy and audits, as for any CONNECT);</li>
 * <li>passthrough: owns the connection: no TLS or HTTP handler is ever installed, and the bytes go to the port's
 * backend ({@link PassthroughRelay}), which authenticates and authorizes the caller itself;</li>
 * <li>refused: closes the connection without a handshake, counted and logged.</li>
 * </ul>
 *
 * @param suffix             the mesh suffix
 * @param exports            this cluster's exports (their ports' declared protocols)
 * @param backends           where exported ports are served
 * @param tunnels            connects passthrough backends
 * @param metrics            route counters
 * @param telemetry          labels and the access log: one line per passthrough connection, and per refusal
 * @param clientHelloTimeout a connection whose ClientHello is not complete by then is closed
 * @param requestHandler     the name of the ingress's request handler in the pipeline (the guard goes before it)
 */
public record IngressSniRouting(String suffix, LocalExports exports, LocalBackends backends, Tunnels tunnels,
        RouteMetrics metrics, Telemetry telemetry, Duration clientHelloTimeout, String requestHandler)
        implements IngressEntry {
    private static final Logger LOG = Logger.getLogger(IngressSniRouting.class);
    static final String LISTENER = "ingress";

    public IngressSniRouting {
        Objects.requireNonNull(suffix, "suffix");
        Objects.requireNonNull(exports, "exports");
        Objects.requireNonNull(backends, "backends");
        Objects.requireNonNull(tunnels, "tunnels");
        Objects.requireNonNull(metrics, "metrics");
        Objects.requireNonNull(telemetry, "telemetry");
        Objects.requireNonNull(clientHelloTimeout, "clientHelloTimeout");
        Objects.requireNonNull(requestHandler, "requestHandler");
    }

    @Override
    public ChannelHandler create(SocketChannel connection, TlsTermination terminate) {
        return new Router(terminate);
    }

    private final class Router extends ServerNameRouter<IngressRoute> {
        private final TlsTermination terminate;

        Router(TlsTermination terminate) {
            super(clientHelloTimeout.toMillis());
            this.terminate = terminate;
        }

        @Override
        IngressRoute decide(String serverName) {
            return IngressRoute.decide(serverName, suffix, exports, backends);
        }

        @Override
        void route(ChannelHandlerContext ctx, IngressRoute route) {
            switch (route) {
                case IngressRoute.Terminate t -> {
                    metrics.route(LISTENER, "terminate");
                    terminate.install(ctx.pipeline());
                    ctx.pipeline().remove(this);
                }
                case IngressRoute.TerminateTcp tcp -> {
                    metrics.route(LISTENER, "tcp");
                    terminate.install(ctx.pipeline());
                    ctx.pipeline().addBefore(requestHandler, TunnelGuard.NAME, new TunnelGuard(tcp.route(), metrics));
                    ctx.pipeline().remove(this);
                }
                case IngressRoute.Passthrough p -> passthrough(ctx, p);
                case IngressRoute.Refused r -> {
                    metrics.route(LISTENER, r.reason().code());
                    PassthroughAccessLog.begin(telemetry, serverName(), peekedBytes()).notRelayed(
                            telemetry.directory().ingressUnseenCaller(Optional.empty(), 0), r.reason().code());
                    LOG.debugf("ingress: refused the ClientHello of %s: %s (%s)", ctx.channel().remoteAddress(),
                            r.reason().code(), r.detail());
                    ctx.close();
                }
            }
        }

        private void passthrough(ChannelHandlerContext ctx, IngressRoute.Passthrough p) {
            metrics.route(LISTENER, "passthrough");
            var caller = ctx.channel().remoteAddress();
            String destination = p.route().name().host();
            PassthroughAccessLog access = PassthroughAccessLog.begin(telemetry, serverName(), peekedBytes());
            var near = ctx.channel();
            PassthroughRelay.start(ctx, List.of(new PassthroughRelay.Target(p.backend(), "backend " + IngressRoute.hostPort(p.backend()))),
                    tunnels).addListener(f -> {
                        var labels = telemetry.directory().ingressUnseenCaller(Optional.of(destination),
                                f.isSuccess() ? 200 : 502);
                        if (f.isSuccess()) {
                            access.relayed(near, (PassthroughRelay.Relayed) f.getNow(), labels);
                            metrics.passthrough(LISTENER, destination);
                            LOG.debugf("ingress: passing %s through to %s (%s), undecrypted", caller, p.route(),
                                    IngressRoute.hostPort(p.backend()));
                        } else {
                            access.notRelayed(labels, "unreachable");
                            LOG.infof("ingress: cannot pass %s through to %s: %s", caller, p.route(),
                                    f.cause().getMessage());
                        }
                    });
        }
    }
}
