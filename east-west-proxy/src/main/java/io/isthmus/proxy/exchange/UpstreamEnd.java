package io.isthmus.proxy.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The last handler of a pooled HTTP/1.1 upstream connection, and the connection as an {@link Upstream}: hands what the
 * upstream sends, and what happens to the channel, to the exchange it currently serves. A pooled connection between
 * exchanges has none: anything it reads then is unexpected and closes it, and its idle timer closes it too. (An HTTP/2
 * stream the gateway opens is an {@link H2Stream}.) Event loop only.
 */
public final class UpstreamEnd extends ChannelInboundHandlerAdapter implements Upstream {
    /** The pipeline name. */
    public static final String NAME = "end";

    private UpstreamEvents exchange;
    private Channel channel;

    /** The connection {@code channel} (whose last handler is an {@code UpstreamEnd}) as an upstream. */
    public static Upstream of(Channel channel) {
        return channel.pipeline().get(UpstreamEnd.class);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void bind(UpstreamEvents exchange) {
        this.exchange = exchange;
    }

    @Override
    public void unbind() {
        this.exchange = null;
    }

    @Override
    public ChannelFuture write(HttpObject msg) {
        return channel.write(msg);
    }

    @Override
    public void flush() {
        channel.flush();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public void setAutoRead(boolean autoRead) {
        channel.config().setAutoRead(autoRead);
    }

    @Override
    public void giveBack(int bytes) {
        // HTTP/1.1 has no window: a connection is held back by not reading it.
    }

    @Override
    public void reset(long errorCode) {
        channel.close();
    }

    @Override
    public void close() {
        channel.close();
    }

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public boolean http2() {
        return false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamEvents e = exchange;
        if (e == null) {
            ReferenceCountUtil.release(msg);
            ctx.close();
        } else if (msg instanceof HttpObject o) {
            e.fromUpstream(o);
        } else if (msg instanceof ByteBuf raw) {
            e.rawFromUpstream(raw);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.flushDownstream();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.upstreamWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        UpstreamEvents e = exchange;
        if (evt instanceof IdleStateEvent) {
            if (e == null) {
                ctx.close();
            } else {
                e.upstreamIdle();
            }
        } else {
            ReferenceCountUtil.release(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.upstreamClosed(null);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        UpstreamEvents e = exchange;
        ctx.close();
        if (e != null) {
            e.upstreamClosed(cause);
        }
    }
}
