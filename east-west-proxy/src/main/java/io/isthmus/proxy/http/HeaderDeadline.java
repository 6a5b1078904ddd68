package io.isthmus.proxy.http;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Against slowloris: the request line and headers of a request must be complete within {@code timeout} of the
 * request's first byte. Sits after the HTTP decoder: the first bytes of a request are noticed by
 * {@link #firstBytes} (called by the companion {@link ByteWatch} in front of the decoder), the decoded
 * {@link HttpRequest} ends the race. On expiry the client gets 408 and the connection is closed. Event loop only.
 */
public final class HeaderDeadline extends ChannelDuplexHandler {
    private final long timeoutNanos;
    private ScheduledFuture<?> timer;
    private boolean awaitingHeaders = true;

    public HeaderDeadline(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
    }

    void firstBytes(ChannelHandlerContext ctx) {
        if (awaitingHeaders && timer == null) {
            timer = ctx.executor().schedule(() -> expire(ctx), timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** The response to the current request is complete: the next bytes start a new request. */
    public void requestDone() {
        awaitingHeaders = true;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            awaitingHeaders = false;
            cancel();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancel();
        ctx.fireChannelInactive();
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void expire(ChannelHandlerContext ctx) {
        timer = null;
        if (awaitingHeaders && ctx.channel().isActive()) {
            ctx.channel().config().setAutoRead(false);
            ctx.writeAndFlush(Responses.error(ctx.alloc(), HttpResponseStatus.REQUEST_TIMEOUT, "header-timeout",
                    "request headers were not complete within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"))
                    .addListener(f -> ctx.channel().close());
        }
    }

    /** Placed in front of the HTTP decoder: tells the deadline when bytes of a new request arrive. */
    public static final class ByteWatch extends io.netty.channel.ChannelInboundHandlerAdapter {
        private final HeaderDeadline deadline;
        private ChannelHandlerContext deadlineCtx;

        public ByteWatch(HeaderDeadline deadline) {
            this.deadline = deadline;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof ByteBuf buf && buf.isReadable()) {
                if (deadlineCtx == null) {
                    deadlineCtx = ctx.pipeline().context(deadline);
                }
                if (deadlineCtx != null) {
                    deadline.firstBytes(deadlineCtx);
                }
            }
            ctx.fireChannelRead(msg);
        }
    }
}
