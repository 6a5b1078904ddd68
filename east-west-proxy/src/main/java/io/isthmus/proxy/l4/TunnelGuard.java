package io.isthmus.proxy.l4;

import java.util.Optional;

import org.jboss.logging.Logger;

import io.isthmus.proxy.http.Responses;
import io.isthmus.proxy.sni.RouteMetrics;
import io.isthmus.proxy.sni.RouteName;
import io.isthmus.registry.MeshName;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * On an ingress connection whose server name routed it to a TCP port ({@link RouteName}), lets through exactly one
 * request: {@code CONNECT} to that same service and port. The request handler behind it then decides who the caller
 * is (only a gateway may vouch), asks the L4 policy and audits, as for any CONNECT. Anything else (another
 * authority, another method, HTTP/2) is refused: a connection is routed, logged and authorized under one name.
 * One-shot: removes itself once the CONNECT passed.
 */
public final class TunnelGuard extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(TunnelGuard.class);
    public static final String NAME = "sni-tunnel";
    /** The refusal code, in the 421 body and {@code isthmus_sni_routes_total{route}}. */
    public static final String MISMATCH = "sni-authority-mismatch";

    private final RouteName route;
    private final RouteMetrics metrics;

    public TunnelGuard(RouteName route, RouteMetrics metrics) {
        this.route = route;
        this.metrics = metrics;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess() && ApplicationProtocolNames.HTTP_2
                .equals(ctx.pipeline().get(SslHandler.class).applicationProtocol())) {
            // An HTTP/2 connection carries frames, never a tunnel: refuse it before it is switched to HTTP/2.
            metrics.route("ingress", MISMATCH);
            LOG.debugf("ingress: refused h2 from %s on the TCP route %s", ctx.channel().remoteAddress(), route);
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request && request.method().equals(HttpMethod.CONNECT)
                && matches(request.uri(), route)) {
            ctx.pipeline().remove(this);
            ctx.fireChannelRead(msg);
            return;
        }
        String what = msg instanceof HttpRequest r ? r.method() + " " + r.uri() : "a " + msg.getClass().getSimpleName();
        ReferenceCountUtil.release(msg);
        metrics.route("ingress", MISMATCH);
        LOG.debugf("ingress: refused %s from %s on the TCP route %s", what, ctx.channel().remoteAddress(), route);
        FullHttpResponse refusal = Responses.error(ctx.alloc(), HttpResponseStatus.MISDIRECTED_REQUEST, MISMATCH,
                "this connection was routed by its server name to " + route.sni() + "; it carries only 'CONNECT "
                        + route.authority() + "', not '" + what + "'");
        refusal.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(refusal).addListener(ChannelFutureListener.CLOSE);
    }

    /** Whether a CONNECT target names the route's service and port (case-insensitive, as DNS). Pure. */
    static boolean matches(String authority, RouteName route) {
        int colon = authority == null ? -1 : authority.lastIndexOf(':');
        if (colon <= 0 || !authority.substring(colon + 1).equals(Integer.toString(route.port()))) {
            return false;
        }
        Optional<MeshName> name = MeshName.parseHost(authority.substring(0, colon), route.name().suffix());
        return name.isPresent() && name.get().equals(route.name())
                && !authority.substring(0, colon).endsWith(".");
    }
}
