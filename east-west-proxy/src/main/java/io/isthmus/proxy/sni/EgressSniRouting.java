package io.isthmus.proxy.sni;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.isthmus.proxy.passthrough.PassthroughAccessLog;
import io.isthmus.proxy.passthrough.PassthroughRelay;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.tunnel.Tunnels;
import io.isthmus.registry.Locality;
import io.isthmus.registry.ServiceResolver;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;

/**
 * Routing of the egress's connections by their first bytes ({@link EgressRoute}): {@link #newHandler()} is the
 * egress's entry, first in each connection's pipeline, before the egress's plaintext-or-TLS handler. A plaintext request, or a ClientHello
 * that does not name a passthrough port, goes on unchanged (the egress terminates and authenticates as before). A
 * ClientHello naming a port that the exporting clusters declare {@code mtls} is relayed, undecrypted, to the nearest
 * of their ingresses that accepts a TCP connection (the next one when a connect fails: nothing was sent yet).
 *
 * @param suffix             the mesh suffix
 * @param resolver           the registry, as the egress resolves mesh names
 * @param locality           this cluster's locality (nearest first)
 * @param tunnels            connects the peer ingresses
 * @param metrics            route counters
 * @param telemetry          labels and the access log: one line per passthrough connection
 * @param clientHelloTimeout a connection that has not sent its first bytes (or a whole ClientHello) by then is closed
 */
public record EgressSniRouting(String suffix, ServiceResolver resolver, Locality locality, Tunnels tunnels,
        RouteMetrics metrics, Telemetry telemetry, Duration clientHelloTimeout) {
    private static final Logger LOG = Logger.getLogger(EgressSniRouting.class);
    static final String LISTENER = "egress";
    public EgressSniRouting {
        Objects.requireNonNull(suffix, "suffix");
        Objects.requireNonNull(resolver, "resolver");
        Objects.requireNonNull(locality, "locality");
        Objects.requireNonNull(tunnels, "tunnels");
        Objects.requireNonNull(metrics, "metrics");
        Objects.requireNonNull(telemetry, "telemetry");
        Objects.requireNonNull(clientHelloTimeout, "clientHelloTimeout");
    }

    public ChannelHandler newHandler() {
        return new Router();
    }

    private final class Router extends ServerNameRouter<EgressRoute> {
        Router() {
            super(clientHelloTimeout.toMillis());
        }

        @Override
        EgressRoute decide(String serverName) {
            return EgressRoute.decide(serverName, suffix, name -> resolver.resolve(name, locality));
        }

        @Override
        void route(ChannelHandlerContext ctx, EgressRoute route) {
            if (!(route instanceof EgressRoute.Passthrough p)) {
                metrics.route(LISTENER, "terminate");
                ctx.pipeline().remove(this);
                return;
            }
            metrics.route(LISTENER, "passthrough");
            var caller = ctx.channel().remoteAddress();
            List<PassthroughRelay.Target> targets = p.exports().stream().map(e -> new PassthroughRelay.Target(
                    InetSocketAddress.createUnresolved(e.ingress().host(), e.ingress().port()),
                    "cluster " + e.key().cluster() + " ingress " + e.ingress())).toList();
            String destination = p.route().name().host();
            PassthroughAccessLog access = PassthroughAccessLog.begin(telemetry, serverName(), peekedBytes());
            var near = ctx.channel();
            PassthroughRelay.start(ctx, targets, tunnels).addListener(f -> {
                if (f.isSuccess()) {
                    PassthroughRelay.Relayed relayed = (PassthroughRelay.Relayed) f.getNow();
                    String cluster = p.exports().get(targets.indexOf(relayed.target())).key().cluster();
                    access.relayed(near, relayed, telemetry.directory().egress(Optional.empty(), Optional.of(cluster),
                            Optional.of(destination), 200));
                    metrics.passthrough(LISTENER, destination);
                    LOG.debugf("egress: passing %s through to %s at %s, undecrypted", caller, p.route(),
                            relayed.far().remoteAddress());
                } else {
                    access.notRelayed(telemetry.directory().egress(Optional.empty(), Optional.empty(),
                            Optional.of(destination), 502), "unreachable");
                    LOG.infof("egress: cannot pass %s through to %s: %s", caller, p.route(), f.cause().getMessage());
                }
            });
        }
    }
}
