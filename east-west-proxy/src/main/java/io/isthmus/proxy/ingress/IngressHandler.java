package io.isthmus.proxy.ingress;

import java.util.Optional;

import javax.net.ssl.SSLSession;

import org.jboss.logging.Logger;

import io.isthmus.proxy.exchange.Downstream;
import io.isthmus.proxy.exchange.DownstreamHandler;
import io.isthmus.proxy.exchange.Exchange;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.Http2Support;
import io.isthmus.proxy.tls.HandshakeFailure;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.tls.SvidCertificateException;
import io.isthmus.trust.tls.TlsContexts;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

/**
 * One mTLS connection at the ingress: the peer's SVID was verified in the handshake and is admitted once more
 * against the live bundles; the connection switches to HTTP/2 when ALPN chose it (this handler then leaves the
 * pipeline and makes the exchanges of the connection's streams). Each request is then an {@link IngressExchange},
 * which makes every decision; this class only knows the peer. Event loop only.
 */
final class IngressHandler extends DownstreamHandler {
    private static final Logger LOG = Logger.getLogger(IngressHandler.class);

    private final IngressServer server;
    private SpiffeId peer;

    IngressHandler(IngressServer server, HeaderDeadline deadline) {
        super(server.metrics(), server.telemetry(), "ingress", deadline);
        this.server = server;
    }

    @Override
    protected void handshakeDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent event) {
        if (!event.isSuccess()) {
            String reason = HandshakeFailure.reason(event.cause());
            metrics.handshakeFailure("ingress", reason);
            LOG.debugf("ingress: refused TLS from %s: %s (%s)", ctx.channel().remoteAddress(), reason,
                    HandshakeFailure.message(event.cause()));
            ctx.close();
            return;
        }
        SvidCertificateException refused = server.tls().admit(ctx.channel(), false);
        if (refused != null) {
            metrics.handshakeFailure("ingress", refused.reason().label());
            LOG.debugf("ingress: refused %s after the handshake: %s", ctx.channel().remoteAddress(), refused.getMessage());
            ctx.close();
            return;
        }
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        SSLSession session = ssl.engine().getSession();
        Optional<SpiffeId> id = TlsContexts.peerId(session);
        if (id.isEmpty()) {
            // Cannot happen with ClientAuth.REQUIRE and the SPIFFE trust manager; refuse rather than trust.
            metrics.handshakeFailure("ingress", HandshakeFailure.NO_CLIENT_CERTIFICATE);
            ctx.close();
            return;
        }
        peer = id.get();
        ctx.channel().attr(Http2Support.PEER).set(peer);
        if (ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
            Http2Support.switchToHttp2(ctx.pipeline(), "ingress", server.settings().maxHeaderSize(),
                    server.metrics());
        }
    }

    @Override
    protected Exchange newExchange(Downstream caller, HttpRequest head, long startNanos) {
        return new IngressExchange(this, caller, head, startNanos, server, peer);
    }
}
