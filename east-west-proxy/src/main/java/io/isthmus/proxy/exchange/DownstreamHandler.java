package io.isthmus.proxy.exchange;

import java.util.ArrayDeque;

import org.jboss.logging.Logger;

import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.telemetry.Telemetry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The caller's side of the data plane, shared by the ingress and the egress: the last handler of a listener
 * connection, and the {@link Downstream} of its exchanges while it speaks HTTP/1.1. It cuts what arrives into
 * exchanges: a request head starts one ({@link #newExchange}), the body parts that follow go to it, and it is
 * answered before the next request of the connection is looked at (HTTP/1.1 pipelining: the next request is held,
 * and reading pauses, until the current exchange is over; responses stay in order).
 *
 * <p>An exchange starts when the read in which its head arrived is complete, so that a malformed body part that came
 * with the head (a bad chunk size) is refused before anyone decides about the request. Reading is switched off only
 * for a reason (a held pipelined request, a body buffered while the upstream is not ready yet, an upstream that is
 * not writable, a protocol switch), and on again when the last reason is gone: each switch costs a system call.
 *
 * <p>A connection that switches to HTTP/2 takes this handler out of its pipeline; it then only makes the exchanges
 * of the connection's streams ({@link H2ServerStreams}, each stream its own {@link Downstream}: {@link H2ServerStream},
 * held back by its flow-control window).
 *
 * <p>Idle connections are closed (the listener's {@code IdleStateEvent}), but not while an exchange runs: a long
 * download sends the caller nothing to read, and the exchange keeps its own timeouts. Event loop only; one per
 * connection.
 */
public abstract class DownstreamHandler extends ChannelInboundHandlerAdapter implements Downstream {
    private static final Logger LOG = Logger.getLogger(DownstreamHandler.class);

    /** Reasons reading is paused, as bits. */
    static final int PIPELINED = 1;
    static final int BUFFERED = 2;
    static final int BACKPRESSURE = 4;
    static final int SWITCHING = 8;

    protected final ProxyMetrics metrics;
    protected final Telemetry telemetry;
    protected final String direction;
    private final HeaderDeadline deadline;
    private ChannelHandlerContext ctx;
    private Exchange current;
    private boolean startPending;
    private final ArrayDeque<Object> held = new ArrayDeque<>(2);
    private int pauses;

    protected DownstreamHandler(ProxyMetrics metrics, Telemetry telemetry, String direction, HeaderDeadline deadline) {
        this.metrics = metrics;
        this.telemetry = telemetry;
        this.direction = direction;
        this.deadline = deadline;
    }

    /**
     * The exchange for a request whose head just arrived on {@code caller} (its decoder result is a success): this
     * connection, or an HTTP/2 stream of it.
     */
    protected abstract Exchange newExchange(Downstream caller, HttpRequest head, long startNanos);

    /** Called once the TLS handshake completes (successfully or not); the default does nothing. */
    protected void handshakeDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent event) {
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public final void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!held.isEmpty()) {
            held.add(msg);
            return;
        }
        dispatch(msg);
    }

    private void dispatch(Object msg) {
        Exchange e = current;
        if (e == null) {
            if (msg instanceof HttpRequest head) {
                begin(head);
            } else {
                // The rest of a request that was refused (its connection is closing), or stray bytes.
                ReferenceCountUtil.release(msg);
            }
        } else if (!e.requestEnded()) {
            if (msg instanceof HttpContent content) {
                e.fromDownstream(content);
            } else if (msg instanceof ByteBuf raw) {
                e.rawFromDownstream(raw);
            } else {
                ReferenceCountUtil.release(msg);
            }
        } else {
            held.add(msg);
            pause(PIPELINED);
        }
    }

    private void begin(HttpRequest head) {
        long start = System.nanoTime();
        Exchange e = newExchange(this, head, start);
        current = e;
        if (e.switchesProtocol()) {
            // What follows an Upgrade or a CONNECT is not HTTP: read nothing more until the switch is decided.
            pause(SWITCHING);
        }
        startPending = true;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        startIfPending();
        Exchange e = current;
        if (e != null) {
            e.flushUpstream();
        }
        ctx.fireChannelReadComplete();
    }

    private void startIfPending() {
        if (startPending) {
            startPending = false;
            current.begin();
        }
    }

    /**
     * The exchange is over: its last write was {@code lastWrite}. The connection is closed after it unless
     * {@code keepAlive}, else the next (held) request is taken up.
     */
    @Override
    public void exchangeDone(Exchange e, boolean keepAlive, ChannelFuture lastWrite) {
        if (current != e) {
            return;
        }
        current = null;
        startPending = false;
        deadline.requestDone();
        if (!keepAlive) {
            lastWrite.addListener(ChannelFutureListener.CLOSE);
            dropHeld();
            return;
        }
        resume(BUFFERED | BACKPRESSURE | SWITCHING);
        while (!held.isEmpty() && (current == null || !current.requestEnded())) {
            dispatch(held.poll());
        }
        if (held.isEmpty()) {
            resume(PIPELINED);
        }
        startIfPending();
    }

    /** The exchange switched the connection to a byte stream: this handler is no longer in the pipeline. */
    @Override
    public void switched(Exchange e) {
        if (current == e) {
            current = null;
            dropHeld();
        }
    }

    @Override
    public void pause(int reason) {
        boolean wasReading = pauses == 0;
        pauses |= reason;
        if (wasReading) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void resume(int reasons) {
        if ((pauses & reasons) == 0) {
            return;
        }
        pauses &= ~reasons;
        if (pauses == 0) {
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        }
    }

    // ---- the caller, as the exchange sees it (Downstream) --------------------------------------------------------

    @Override
    public ChannelFuture write(HttpObject msg) {
        return ctx.write(msg);
    }

    @Override
    public ChannelFuture writeAndFlush(HttpObject msg) {
        return ctx.writeAndFlush(msg);
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public boolean isWritable() {
        return ctx.channel().isWritable();
    }

    @Override
    public boolean isActive() {
        return ctx.channel().isActive();
    }

    /** HTTP/1.1 has no window: reading pauses instead ({@link #pause}). */
    @Override
    public void giveBack(int bytes) {
    }

    /** HTTP/1.1 has no stream to reset: the exchange closes the connection. */
    @Override
    public ChannelFuture reset(long errorCode) {
        return ctx.newSucceededFuture();
    }

    @Override
    public void close() {
        ctx.close();
    }

    @Override
    public Channel connection() {
        return ctx.channel();
    }

    @Override
    public boolean http2() {
        return false;
    }

    /** This handler's name in the pipeline (a protocol switch removes it with the HTTP/1.1 handlers). */
    String handlerName() {
        return ctx.name();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange e = current;
        if (e != null) {
            e.downstreamWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        Exchange e = current;
        current = null;
        dropHeld();
        if (e != null) {
            e.downstreamClosed();
        }
        super.channelInactive(ctx);
    }

    private void dropHeld() {
        for (Object o = held.poll(); o != null; o = held.poll()) {
            ReferenceCountUtil.release(o);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            if (current == null) {
                ctx.close();
            }
        } else if (evt instanceof SslHandshakeCompletionEvent handshake) {
            handshakeDone(ctx, handshake);
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Handshake failures are counted in handshakeDone; anything else here is a broken connection.
        LOG.debugf("%s: closing %s: %s", direction, ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
