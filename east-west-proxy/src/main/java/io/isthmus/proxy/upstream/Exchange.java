package io.isthmus.proxy.upstream;

import java.io.IOException;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;

/**
 * The last handler of a pooled upstream connection: completes the promise of the one request in flight with its
 * aggregated response, or fails it when the connection breaks first. Event loop only.
 */
public final class Exchange extends ChannelInboundHandlerAdapter {
    private Promise<FullHttpResponse> pending;
    /** Whether a response has ever arrived on this connection (the peer accepted our handshake). */
    private boolean answeredBefore;

    /** Thrown when an upstream closes or breaks a connection before the whole response arrived. */
    public static final class UpstreamClosedException extends IOException {
        private static final long serialVersionUID = 1L;
        private final boolean handshakeRefused;

        UpstreamClosedException(String message, Throwable cause, boolean handshakeRefused) {
            super(message, cause);
            this.handshakeRefused = handshakeRefused;
        }

        /**
         * With TLS 1.3 the client's handshake completes before the server has checked the client certificate;
         * a server that refuses it answers the first request with an alert. True when that happened on a new
         * connection: the peer never accepted the connection, so it cannot have processed the request, and it is
         * as safe to retry elsewhere as a refused connect.
         */
        public boolean handshakeRefused() {
            return handshakeRefused;
        }
    }

    /**
     * Sends {@code request} (ownership passes) on {@code channel}; the result completes on the channel's loop.
     * {@code written} fails when nothing could be sent, which is the only case a caller may retry elsewhere.
     */
    public static Promise<FullHttpResponse> send(Channel channel, FullHttpRequest request,
            Promise<Void> written) {
        Exchange exchange = channel.pipeline().get(Exchange.class);
        Promise<FullHttpResponse> response = channel.eventLoop().newPromise();
        exchange.pending = response;
        io.netty.handler.timeout.IdleStateHandler timer = channel.pipeline()
                .get(io.netty.handler.timeout.IdleStateHandler.class);
        if (timer != null) {
            timer.resetReadTimeout();
        }
        channel.writeAndFlush(request).addListener(f -> {
            if (f.isSuccess()) {
                written.trySuccess(null);
            } else {
                written.tryFailure(f.cause());
                exchange.fail(new UpstreamClosedException("writing the request failed", f.cause(), false));
                channel.close();
            }
        });
        return response;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FullHttpResponse response && pending != null) {
            Promise<FullHttpResponse> p = pending;
            pending = null;
            answeredBefore = true;
            if (!p.trySuccess(response)) {
                response.release();
            }
        } else {
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof io.netty.handler.timeout.IdleStateEvent) {
            fail(new java.util.concurrent.TimeoutException("upstream " + ctx.channel().remoteAddress()
                    + " sent nothing within the request timeout"));
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(new UpstreamClosedException("upstream " + ctx.channel().remoteAddress()
                + " closed the connection before the response was complete", null, false));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        boolean refused = !answeredBefore && isTls(cause);
        fail(new UpstreamClosedException("upstream " + ctx.channel().remoteAddress() + " failed: " + cause.getMessage(),
                cause, refused));
        ctx.close();
    }

    private static boolean isTls(Throwable cause) {
        for (Throwable t = cause; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof javax.net.ssl.SSLException) {
                return true;
            }
        }
        return false;
    }

    private void fail(Throwable cause) {
        if (pending != null) {
            Promise<FullHttpResponse> p = pending;
            pending = null;
            p.tryFailure(cause);
        }
    }
}
