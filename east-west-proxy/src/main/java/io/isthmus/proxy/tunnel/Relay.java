package io.isthmus.proxy.tunnel;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * Copies bytes from its channel to {@code peer}, reading the next chunk only after the previous one was written
 * (back-pressure without buffering), and closes the peer, after flushing, when its own side closes. Both
 * directions of a tunnel have one each; both channels run with autoRead off.
 */
public final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    /** Bytes read from this side and handed to the peer; event loop only, read after the channel closed. */
    private long relayed;

    public Relay(Channel peer) {
        this.peer = peer;
    }

    /** Joins two channels whose pipelines hold nothing but transport and TLS handlers, and starts reading. */
    public static void splice(Channel a, Channel b) {
        a.config().setAutoRead(false);
        b.config().setAutoRead(false);
        a.pipeline().addLast("relay", new Relay(b));
        b.pipeline().addLast("relay", new Relay(a));
        a.read();
        b.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof io.netty.buffer.ByteBuf)) {
            // A decoder removed at the switch may hand on what it had decoded; only bytes belong to the stream.
            ReferenceCountUtil.release(msg);
            ctx.channel().read();
            return;
        }
        relayed += ((io.netty.buffer.ByteBuf) msg).readableBytes();
        if (!peer.isActive()) {
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        peer.writeAndFlush(msg).addListener(f -> {
            if (f.isSuccess()) {
                ctx.channel().read();
            } else {
                ctx.close();
                peer.close();
            }
        });
    }

    /** Bytes this relay read from its channel. */
    public long relayed() {
        return relayed;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closeAfterFlush(peer);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    static void closeAfterFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
