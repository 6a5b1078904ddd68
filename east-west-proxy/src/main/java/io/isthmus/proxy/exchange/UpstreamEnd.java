package io.isthmus.proxy.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The last handler of an upstream channel (a pooled HTTP/1.1 connection, or one HTTP/2 stream): hands what the
 * upstream sends, and what happens to the channel, to the {@link Exchange} it currently serves. A pooled connection
 * between exchanges has none: anything it reads then is unexpected and closes it, and its idle timer closes it too.
 * Event loop only.
 */
public final class UpstreamEnd extends ChannelInboundHandlerAdapter {
    /** The pipeline name. */
    public static final String NAME = "end";

    private Exchange exchange;

    void bind(Exchange exchange) {
        this.exchange = exchange;
    }

    void unbind() {
        this.exchange = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Exchange e = exchange;
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
        Exchange e = exchange;
        if (evt instanceof IdleStateEvent) {
            if (e == null) {
                ctx.close();
            } else {
                e.upstreamIdle();
            }
        } else if (evt instanceof Http2ResetFrame reset) {
            if (e != null) {
                e.upstreamReset(reset.errorCode());
            }
        } else if (evt instanceof Http2GoAwayFrame goAway) {
            // Fired on the streams above the GOAWAY's last stream id: the peer never processed them.
            goAway.release();
            if (e != null) {
                e.upstreamGoingAway("the peer sent GOAWAY (" + goAway.errorCode() + ") before processing it");
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
        Exchange e = exchange;
        ctx.close();
        if (e != null) {
            e.upstreamClosed(cause);
        }
    }
}
