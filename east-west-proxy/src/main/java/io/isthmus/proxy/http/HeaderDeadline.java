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
 * request's first byte. Sits after the HTTP decoder: the first bytes of a request are noticed by the companion
 * {@link ByteWatch} in front of the decoder, the decoded {@link HttpRequest} ends the race. On expiry the client gets 408 and the connection is closed. Event loop only.
 */
public final class HeaderDeadline extends ChannelDuplexHandler {
    private final long timeoutNanos;
    private ScheduledFuture<?> checker;
    private boolean awaitingHeaders = true;
    /** When the first byte of the current request arrived; 0 while none has. */
    private long firstByteNanos;

    public HeaderDeadline(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
    }

    /**
     * One periodic check per connection instead of a timer per request (scheduling and cancelling a timer on
     * every request is measurable at high request rates); the deadline is enforced within a quarter of it.
     */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(50), timeoutNanos / 4);
        checker = ctx.executor().scheduleAtFixedRate(() -> check(ctx), period, period, TimeUnit.NANOSECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    void firstBytes() {
        if (awaitingHeaders && firstByteNanos == 0) {
            firstByteNanos = System.nanoTime();
        }
    }

    /** The response to the current request is complete: the next bytes start a new request. */
    public void requestDone() {
        awaitingHeaders = true;
        firstByteNanos = 0;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            awaitingHeaders = false;
            firstByteNanos = 0;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancel();
        ctx.fireChannelInactive();
    }

    private void cancel() {
        if (checker != null) {
            checker.cancel(false);
            checker = null;
        }
    }

    private void check(ChannelHandlerContext ctx) {
        if (awaitingHeaders && firstByteNanos != 0 && System.nanoTime() - firstByteNanos > timeoutNanos
                && ctx.channel().isActive()) {
            cancel();
            ctx.channel().config().setAutoRead(false);
            ctx.writeAndFlush(Responses.error(ctx.alloc(), HttpResponseStatus.REQUEST_TIMEOUT, "header-timeout",
                    "request headers were not complete within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"))
                    .addListener(f -> ctx.channel().close());
        }
    }

    /** Placed in front of the HTTP decoder: tells the deadline when bytes of a new request arrive. */
    public static final class ByteWatch extends io.netty.channel.ChannelInboundHandlerAdapter {
        private final HeaderDeadline deadline;

        public ByteWatch(HeaderDeadline deadline) {
            this.deadline = deadline;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof ByteBuf buf && buf.isReadable()) {
                deadline.firstBytes();
            }
            ctx.fireChannelRead(msg);
        }
    }
}
