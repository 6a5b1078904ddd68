package io.isthmus.proxy.egress;

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
 * One local caller's connection at the egress: admits the TLS caller's SVID after the handshake (local trust domain
 * only) and switches the connection to HTTP/2 when ALPN or the h2c preface chose it (this handler then leaves the
 * pipeline and makes the exchanges of the connection's streams); each request is then an {@link EgressExchange}.
 * Event loop only.
 */
final class EgressHandler extends DownstreamHandler {
    private static final Logger LOG = Logger.getLogger(EgressHandler.class);

    private final EgressServer server;
    private SpiffeId tlsCaller;
    /** Memo: the same caller sends many requests on one connection; SpiffeId.toString() builds a new string. */
    private SpiffeId lastCaller;
    private String lastCallerText;

    EgressHandler(EgressServer server, HeaderDeadline deadline) {
        super(server.metrics(), server.telemetry(), "egress", deadline);
        this.server = server;
    }

    @Override
    protected void handshakeDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent event) {
        if (!event.isSuccess()) {
            String reason = HandshakeFailure.reason(event.cause());
            metrics.handshakeFailure("egress", reason);
            LOG.debugf("egress: refused TLS from %s: %s (%s)", ctx.channel().remoteAddress(), reason,
                    HandshakeFailure.message(event.cause()));
            ctx.close();
            return;
        }
        SvidCertificateException refused = server.tls().admit(ctx.channel(), true);
        if (refused != null) {
            metrics.handshakeFailure("egress", refused.reason().label());
            ctx.close();
            return;
        }
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        tlsCaller = TlsContexts.peerId(ssl.engine().getSession()).orElse(null);
        ctx.channel().attr(Http2Support.PEER).set(tlsCaller);
        if (ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
            Http2Support.switchToHttp2(ctx.pipeline(), "egress", server.settings().maxHeaderSize(),
                    server.metrics());
        }
    }

    @Override
    protected Exchange newExchange(Downstream caller, HttpRequest head, long startNanos) {
        return new EgressExchange(this, caller, head, startNanos, server);
    }

    /** The caller's SVID from the TLS handshake, or null (a plaintext caller authenticates with a token). */
    SpiffeId tlsCaller() {
        return tlsCaller;
    }

    String callerText(SpiffeId caller) {
        if (!caller.equals(lastCaller)) {
            lastCaller = caller;
            lastCallerText = caller.toString();
        }
        return lastCallerText;
    }
}
