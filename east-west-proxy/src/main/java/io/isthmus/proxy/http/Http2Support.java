package io.isthmus.proxy.http;

import java.util.List;

import io.isthmus.proxy.exchange.DownstreamHandler;
import io.isthmus.proxy.exchange.H2ServerStreams;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.util.AttributeKey;

/**
 * HTTP/2 on the listeners: a connection that negotiated {@code h2} by ALPN (or, on the egress's plaintext side,
 * opened with the HTTP/2 preface: h2c prior knowledge) has its HTTP/1.1 handlers replaced by Netty's
 * {@code Http2FrameCodec} + {@link H2ServerStreams}: every stream the caller opens is a
 * {@code io.isthmus.proxy.exchange.H2ServerStream} on that one handler, no child channel (it validates the request
 * HEADERS and converts frames to HTTP/1-style objects, never aggregated: bodies stream), whose exchange the
 * connection's request handler makes, as on HTTP/1.1; that handler admitted the connection and knows its peer.
 * Streams the gateway opens upstream have no channel of their own either ({@link io.isthmus.proxy.exchange.H2Stream}).
 */
public final class Http2Support {
    /** The peer's verified SPIFFE ID (or the TLS caller's), set on the connection once the handshake is admitted. */
    public static final AttributeKey<Object> PEER = AttributeKey.valueOf("isthmus.peer");

    /** Server ALPN: h2 preferred, http/1.1 kept; a client offering neither gets http/1.1 (no ALPN answer). */
    public static final ApplicationProtocolConfig SERVER_ALPN = new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN, ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2,
            ApplicationProtocolNames.HTTP_1_1);

    /** Streams one connection may have open at once (HTTP/2 leaves it unbounded unless the server says so). */
    public static final int MAX_CONCURRENT_STREAMS = 256;

    /** RST_STREAM frames one connection may receive, or be made to send, per {@link #RESET_WINDOW_SECONDS}. */
    static final int MAX_RESETS_PER_WINDOW = 200;
    static final int RESET_WINDOW_SECONDS = 30;

    /**
     * The connection-level receive window of every HTTP/2 connection the gateway terminates or opens: room for a full
     * stream window on every stream. A relayed gRPC stream whose receiver is slow holds up to its stream window
     * (64 KiB) unacknowledged; with HTTP/2's default connection window (also 64 KiB) one such stream would stall
     * every other stream of the connection.
     */
    public static final int CONNECTION_WINDOW = MAX_CONCURRENT_STREAMS * Http2CodecUtil.DEFAULT_WINDOW_SIZE;

    /** The pipeline name of a listener connection's {@link H2ServerStreams}. */
    public static final String STREAMS = "h2-streams";

    /** The HTTP/1.1 handlers of a listener's pipeline that an HTTP/2 connection does not use. */
    private static final List<String> HTTP1_HANDLERS = java.util.stream.Stream.concat(java.util.stream.Stream.of("h2c"),
            Http1Pipeline.NAMES.stream()).toList();

    private Http2Support() {
    }

    /**
     * Raises the connection-level receive window of {@code connection} (active, its {@code Http2FrameCodec} added and
     * its preface sent) to {@link #CONNECTION_WINDOW}: one WINDOW_UPDATE on stream 0. Event loop only.
     */
    public static void widenConnectionWindow(Channel connection) {
        Http2FrameCodec codec = connection.pipeline().get(Http2FrameCodec.class);
        Http2Stream whole = codec.connection().connectionStream();
        int delta = CONNECTION_WINDOW - codec.connection().local().flowController().initialWindowSize(whole);
        if (delta > 0) {
            try {
                codec.connection().local().flowController().incrementWindowSize(whole, delta);
            } catch (Http2Exception e) {
                throw new IllegalStateException("cannot widen the HTTP/2 connection window of " + connection, e);
            }
            connection.flush();
        }
    }

    /** The connection a handler's channel belongs to: the parent of an HTTP/2 stream, else the channel itself. */
    public static Channel connection(Channel channel) {
        return channel instanceof Http2StreamChannel stream ? stream.parent() : channel;
    }

    public static boolean isStream(Channel channel) {
        return channel instanceof Http2StreamChannel;
    }

    /**
     * Called on a TLS connection that negotiated {@code h2}: replaces the HTTP/1.1 handlers (and
     * {@code handlerName}, the request handler, a {@link DownstreamHandler}) of {@code pipeline} with an HTTP/2 server
     * codec, right behind the {@code SslHandler}, whose streams' exchanges that request handler makes.
     */
    public static void switchToHttp2(ChannelPipeline pipeline, String handlerName, int maxHeaderSize,
            ProxyMetrics metrics) {
        String after = pipeline.context(io.netty.handler.ssl.SslHandler.class).name();
        install(pipeline, after, handlerName, maxHeaderSize, metrics);
        if (pipeline.get("h2c") != null) {
            pipeline.remove("h2c");
        }
    }

    private static void install(ChannelPipeline pipeline, String after, String handlerName, int maxHeaderSize,
            ProxyMetrics metrics) {
        // The connection's request handler (which admitted it and knows its peer) leaves the pipeline and makes the
        // exchanges of its streams.
        DownstreamHandler requests = (DownstreamHandler) pipeline.get(handlerName);
        for (String name : HTTP1_HANDLERS) {
            if (!name.equals(after) && !name.equals("h2c") && pipeline.get(name) != null) {
                pipeline.remove(name);
            }
        }
        // Netty's defaults for a server (4.1.132), stated so that a Netty upgrade cannot drop them unnoticed: a
        // connection is ended with GOAWAY ENHANCE_YOUR_CALM after 200 RST_STREAM read (Rapid Reset) or 200 sent (resets
        // the client provoked: MadeYouReset) within 30 s, after 16 CONTINUATION frames in a row without header bytes,
        // and when 10,000 control-frame answers (PING and SETTINGS ACKs) wait behind a client that does not read.
        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings().maxHeaderListSize(maxHeaderSize)
                        .maxConcurrentStreams(MAX_CONCURRENT_STREAMS))
                .decoderEnforceMaxRstFramesPerWindow(MAX_RESETS_PER_WINDOW, RESET_WINDOW_SECONDS)
                .encoderEnforceMaxRstFramesPerWindow(MAX_RESETS_PER_WINDOW, RESET_WINDOW_SECONDS)
                .decoderEnforceMaxSmallContinuationFrames(16).encoderEnforceMaxQueuedControlFrames(10_000)
                .validateHeaders(true).build();
        // Netty applies our SETTINGS to its own checks only once the client acknowledges them, and a client that
        // never does would open streams without limit, each an exchange with its backend request. Enforce the
        // advertised limit from the first stream on: streams above it are refused (REFUSED_STREAM, safe to retry),
        // as Go's server does.
        codec.connection().remote().maxActiveStreams(MAX_CONCURRENT_STREAMS);
        pipeline.addAfter(after, "flush", batchedFlushes());
        pipeline.addAfter("flush", "h2", codec);
        pipeline.addAfter("h2", STREAMS, new H2ServerStreams(requests));
        Http2ConnectionErrors errors = new Http2ConnectionErrors(handlerName, metrics, pipeline.channel());
        codec.connection().addListener(errors.goAwaySent());
        pipeline.addAfter(STREAMS, "h2-errors", errors);
        widenConnectionWindow(pipeline.channel());
        if (pipeline.get(handlerName) != null) {
            pipeline.remove(handlerName);
        }
    }

    /**
     * In front of an HTTP/2 connection's TLS: the flushes of its streams that come in one turn of the event loop
     * leave as one TLS record and one write. Every stream flushes its connection, and an exchange flushes when it
     * forwards a request or ends a response, so at concurrency each request cost a record and a system call on the
     * gateway hop, and a read and a wake-up at the other end. A flush during a read of this connection waits for the
     * read's end; any other waits for the current turn of the event loop (Netty's FlushConsolidationHandler).
     */
    public static ChannelHandler batchedFlushes() {
        return new io.netty.handler.flush.FlushConsolidationHandler(
                io.netty.handler.flush.FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true);
    }

    /**
     * On a plaintext connection, h2c with prior knowledge: a connection that opens with the HTTP/2 preface is
     * switched to HTTP/2; anything else stays HTTP/1.1. Removes itself after the first decision; on a TLS connection
     * (ALPN decides there) it steps aside at once.
     */
    public static final class PriorKnowledge extends ByteToMessageDecoder {
        private final String handlerName;
        private final int maxHeaderSize;
        private final ProxyMetrics metrics;

        public PriorKnowledge(String handlerName, int maxHeaderSize, ProxyMetrics metrics) {
            this.handlerName = handlerName;
            this.maxHeaderSize = maxHeaderSize;
            this.metrics = metrics;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            if (ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null) {
                ctx.pipeline().remove(this);
                return;
            }
            ByteBuf preface = Http2CodecUtil.connectionPrefaceBuf();
            try {
                int n = Math.min(in.readableBytes(), preface.readableBytes());
                if (!ByteBufUtil.equals(in, in.readerIndex(), preface, 0, n)) {
                    ctx.pipeline().remove(this);
                } else if (n == preface.readableBytes()) {
                    // The codec goes right behind this decoder, which then hands it the bytes it holds.
                    install(ctx.pipeline(), ctx.name(), handlerName, maxHeaderSize, metrics);
                    ctx.pipeline().remove(this);
                }
            } finally {
                preface.release();
            }
        }
    }
}
