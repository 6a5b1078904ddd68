package io.isthmus.proxy.tunnel;

import java.util.ArrayDeque;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Keeps the bytes a connection delivered before its far end exists (the ClientHello a router peeked at, data that
 * arrived with the last handshake flight) and hands them, in order, to the far end once it does. Reading must be off
 * meanwhile: only what was already read is held, so the memory is bounded by what one read delivers. Event loop only.
 */
public final class HeldBytes extends ChannelInboundHandlerAdapter {
    public static final String NAME = "held-bytes";

    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            held.add(buf);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Swallowed: nobody downstream reads until the relay replaces this handler.
    }

    /**
     * Writes the held bytes to {@code far} (flushed) and removes this handler from {@code near}'s pipeline. Call on
     * {@code near}'s event loop.
     *
     * @return how many bytes were handed on (they pass no relay, so whoever counts the bytes of a connection adds them)
     */
    public static long release(Channel near, Channel far) {
        HeldBytes self = near.pipeline().get(HeldBytes.class);
        if (self == null) {
            return 0;
        }
        long handed = 0;
        ByteBuf b;
        while ((b = self.held.poll()) != null) {
            handed += b.readableBytes();
            far.write(b);
        }
        far.flush();
        near.pipeline().remove(self);
        return handed;
    }

    /** Whatever was not handed on (the connection closed first) is freed. */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ByteBuf b;
        while ((b = held.poll()) != null) {
            b.release();
        }
    }
}
