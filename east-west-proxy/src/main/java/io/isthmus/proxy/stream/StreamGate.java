package io.isthmus.proxy.stream;

import java.util.ArrayDeque;

import io.isthmus.proxy.ingress.Grpc;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannelOption;
import io.netty.util.ReferenceCountUtil;

/**
 * First handler of every server-side HTTP/2 stream. A stream that does not open with gRPC request headers is left
 * to the aggregating pipeline behind (the gate removes itself). A gRPC stream is not aggregated: the gate hands a
 * body-less copy of its HEADERS to the request handler (which authenticates, authorizes and routes on the headers
 * alone) and holds the DATA frames that follow, reading nothing more and giving no window back (the caller can send
 * one stream window at most).
 * Then either the handler answers by itself (a refusal: the held frames are dropped) or it opens the upstream stream
 * and {@link StreamRelay#start starts a relay}, to which the gate passes the held frames and everything after.
 * Event loop only; one per stream.
 */
public final class StreamGate extends ChannelDuplexHandler {
    private enum State {
        /** Before the request headers. */
        FIRST,
        /** gRPC headers passed on; frames are held until the handler decides. */
        HOLD,
        /** Frames go to the relay. */
        RELAY,
        /** The handler answered by itself, or the stream closed: frames are dropped. */
        DONE
    }

    private State state = State.FIRST;
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean headersEndStream;
    private StreamRelay relay;

    /** The gate of {@code stream} if it holds a gRPC call for which the handler has not answered yet, else null. */
    public static StreamGate holding(Channel stream) {
        StreamGate gate = stream.pipeline().get(StreamGate.class);
        return gate != null && gate.state == State.HOLD ? gate : null;
    }

    Channel channel() {
        return ctx.channel();
    }

    /** Whether the request headers ended the request (no body follows). */
    boolean headersEndStream() {
        return headersEndStream;
    }

    /** Called by the relay once the request headers went upstream: from now on frames go to {@code relay}. */
    void relayTo(StreamRelay relay) {
        if (state != State.HOLD) {
            relay.downstreamClosed();
            return;
        }
        this.relay = relay;
        state = State.RELAY;
        for (Object frame = held.poll(); frame != null; frame = held.poll()) {
            relay.fromDownstream(frame);
        }
        relay.flushUpstream();
        ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (state) {
            case FIRST -> {
                if (msg instanceof Http2HeadersFrame headers
                        && Grpc.isGrpc(headers.headers().get(io.netty.handler.codec.http.HttpHeaderNames.CONTENT_TYPE))) {
                    state = State.HOLD;
                    headersEndStream = headers.isEndStream();
                    ctx.channel().config().setAutoRead(false);
                    StreamRelay.manualFlowControl(ctx.channel());
                    // Ending the copy makes the converter emit a complete request without waiting for the body.
                    ctx.fireChannelRead(new DefaultHttp2HeadersFrame(headers.headers(), true).stream(headers.stream()));
                } else {
                    ctx.pipeline().remove(this);
                    ctx.fireChannelRead(msg);
                }
            }
            case HOLD -> held.add(msg);
            case RELAY -> relay.fromDownstream(msg);
            case DONE -> ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state == State.RELAY) {
            relay.flushUpstream();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof Http2ResetFrame reset && state == State.RELAY) {
            relay.downstreamReset(reset.errorCode());
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        State was = state;
        state = State.DONE;
        dropHeld();
        if (was == State.RELAY) {
            relay.downstreamClosed();
        }
        ctx.fireChannelInactive();
    }

    /** A response written while holding is the handler's own answer (a refusal): the call will not be relayed. */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (state == State.HOLD) {
            state = State.DONE;
            dropHeld();
            // Read (and drop) the rest of the request, giving its window back, so the caller is not stalled.
            ctx.channel().config().setOption(Http2StreamChannelOption.AUTO_STREAM_FLOW_CONTROL, true);
            ctx.channel().config().setAutoRead(true);
        }
        ctx.write(msg, promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        dropHeld();
    }

    private void dropHeld() {
        for (Object frame = held.poll(); frame != null; frame = held.poll()) {
            ReferenceCountUtil.release(frame);
        }
    }
}
