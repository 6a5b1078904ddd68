package io.isthmus.proxy.l4;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.isthmus.proxy.egress.PeerIngress;
import io.isthmus.proxy.exchange.Splice;
import io.isthmus.proxy.http.IdentityHeaders;
import io.isthmus.proxy.telemetry.HopRecord;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.isthmus.proxy.tls.HandshakeFailure;
import io.isthmus.proxy.tunnel.Tunnels;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Protocol;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.tls.SvidCertificateException;
import io.isthmus.trust.tls.TlsContexts;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * One client connection of a TCP listener: learns the caller (the SVID of its TLS handshake, or the listener's
 * plaintext identity), then opens the tunnel to the nearest cluster exporting the port as {@code tcp} (the next one
 * when a connect or handshake fails, or the gateway there is not that cluster's) and splices the two. A refusal by
 * the destination (its L4 policy, its vouching rules) closes the client's connection. Each connection is counted
 * once in {@code isthmus_requests_total} (200 when its tunnel stood, else the refusal's status) and leaves one
 * access-log line ({@code kind=tunnel}, {@code protocol=tcp}) when it closes. Event loop only.
 */
final class TcpCaller extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(TcpCaller.class);
    static final String NAME = "tcp-caller";
    private static final String DIRECTION = "egress";

    private final TcpListenerSpec spec;
    private final TcpListeners server;
    private long start;
    private HopRecord hop;

    TcpCaller(TcpListenerSpec spec, TcpListeners server) {
        this.spec = spec;
        this.server = server;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        start = System.nanoTime();
        // A TCP client sends no trace context: the record carries the labels and the access-log line.
        hop = server.telemetry().begin(DIRECTION, List.of(), List.of());
        if (spec.plaintextCaller().isPresent()) {
            open(ctx, spec.plaintextCaller().get());
        }
        super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        if (evt instanceof SslHandshakeCompletionEvent done) {
            if (!done.isSuccess()) {
                String reason = HandshakeFailure.reason(done.cause());
                server.metrics().handshakeFailure(TcpListeners.LISTENER, reason);
                LOG.debugf("tcp listener %s: refused TLS from %s: %s", spec.name(), ctx.channel().remoteAddress(),
                        reason);
                ctx.close();
                return;
            }
            SvidCertificateException refused = server.tls().admit(ctx.channel(), true);
            Optional<SpiffeId> caller = TlsContexts.peerId(ctx.pipeline().get(SslHandler.class).engine().getSession());
            if (refused != null || caller.isEmpty()) {
                String reason = refused != null ? refused.reason().label() : HandshakeFailure.NO_CLIENT_CERTIFICATE;
                server.metrics().handshakeFailure(TcpListeners.LISTENER, reason);
                LOG.debugf("tcp listener %s: refused %s: %s", spec.name(), ctx.channel().remoteAddress(),
                        refused != null ? refused.getMessage() : "no SVID; this listener takes TLS clients with their SVID");
                ctx.close();
                return;
            }
            // Bytes that come with or after the handshake wait in the HeldBytes TcpListeners put in front of this
            // handler, until Splice.join hands them on.
            ctx.channel().config().setAutoRead(false);
            open(ctx, caller.get());
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        // Only reached before the tunnel stands in plaintext mode, where nothing is read: drop defensively.
        ReferenceCountUtil.release(msg);
    }

    private void open(ChannelHandlerContext ctx, SpiffeId caller) {
        String destination = spec.route().name().host();
        List<PeerIngress> candidates = new ArrayList<>();
        List<PeerIngress> ejected = new ArrayList<>(0);
        for (ExportedService e : server.resolver().resolve(spec.route().name(), server.locality())) {
            if (e.ports().stream().anyMatch(p -> p.port() == spec.route().port() && p.protocol() == Protocol.TCP)) {
                PeerIngress ingress = PeerIngress.of(e, server.resolver());
                (ingress.ejectedBy(server.outliers()) ? ejected : candidates).add(ingress);
            }
        }
        // As the egress does: clusters ejected for failing connects in a row are tried only when none other is left.
        candidates.addAll(ejected);
        if (candidates.isEmpty()) {
            refuse(ctx, caller, Optional.empty(), 404, "unknown-service", "no healthy, non-stale cluster exports "
                    + spec.route().authority() + " as tcp");
            return;
        }
        attempt(ctx, caller, candidates, 0, new ArrayList<>());
    }

    private void attempt(ChannelHandlerContext ctx, SpiffeId caller, List<PeerIngress> candidates, int index,
            List<String> failures) {
        Channel near = ctx.channel();
        if (!near.isActive()) {
            return;
        }
        if (index >= candidates.size()) {
            refuse(ctx, caller, Optional.empty(), 502, "no-cluster-reachable", "every cluster exporting "
                    + spec.route().authority() + " failed: " + String.join("; ", failures));
            return;
        }
        PeerIngress ingress = candidates.get(index);
        server.tunnels().connectThroughIngress(near.eventLoop(), ingress.address(), server.tls().upstream(),
                spec.route().sni(), spec.route().authority(), IdentityHeaders.CALLER.toString(), caller.toString(),
                ingress::mismatch).addListener(f -> {
                    if (!f.isSuccess()) {
                        server.metrics().connectFailure(DIRECTION, ingress.cluster());
                        server.outliers().connectFailed(ingress.key())
                                .ifPresent(e -> server.metrics().outlierEjected(ingress.cluster()));
                        failures.add(ingress + ": " + HandshakeFailure.message(f.cause()));
                        attempt(ctx, caller, candidates, index + 1, failures);
                        return;
                    }
                    ingress.connectSucceeded(server.outliers());
                    Tunnels.Opened opened = (Tunnels.Opened) f.getNow();
                    int status = opened.response().status().code();
                    String reason = opened.response().headers().get(IdentityHeaders.REASON, "");
                    opened.response().release();
                    if (status != 200) {
                        opened.channel().close();
                        refuse(ctx, caller, Optional.of(ingress), status, reason.isEmpty() ? "refused" : reason,
                                ingress + " refused it with " + status);
                        return;
                    }
                    if (!near.isActive()) {
                        opened.channel().close();
                        return;
                    }
                    RequestLabels labels = labels(caller, Optional.of(ingress), 200);
                    server.metrics().request(labels, start);
                    ctx.pipeline().remove(this);
                    Splice.Spliced spliced = Splice.join(near, List.of(), opened.channel(), List.of(), List.of());
                    near.closeFuture().addListener(c -> hop.finish("tunnel", labels, details(caller, Optional.of(
                            ingress), spliced.fromCaller(), spliced.toCaller(), Optional.empty())));
                });
    }

    private void refuse(ChannelHandlerContext ctx, SpiffeId caller, Optional<PeerIngress> ingress, int status,
            String reason, String detail) {
        RequestLabels labels = labels(caller, ingress, status);
        server.metrics().request(labels, start);
        hop.finish("tunnel", labels, details(caller, ingress, 0, 0, Optional.of(reason)));
        LOG.debugf("tcp listener %s: closing %s from %s: %s (%s)", spec.name(), ctx.channel().remoteAddress(), caller,
                reason, detail);
        ctx.close();
    }

    private RequestLabels labels(SpiffeId caller, Optional<PeerIngress> ingress, int code) {
        return hop.directory().egress(Optional.of(caller), ingress.map(PeerIngress::cluster),
                Optional.of(spec.route().name().host()), code);
    }

    private static HopRecord.Details details(SpiffeId caller, Optional<PeerIngress> ingress, long in, long out,
            Optional<String> reason) {
        return new HopRecord.Details(caller.toString(), Optional.empty(), Optional.empty(), Optional.empty(), "tcp", in,
                out, ingress.map(PeerIngress::toString), reason);
    }
}
