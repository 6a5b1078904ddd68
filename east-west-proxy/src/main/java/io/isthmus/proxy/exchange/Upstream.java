package io.isthmus.proxy.exchange;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpObject;

/**
 * Where an {@link Exchange} sends its request and whence its response comes: a pooled HTTP/1.1 connection
 * ({@link UpstreamEnd}, its last handler) or one HTTP/2 stream on a pooled connection ({@link H2Stream}, frames on the
 * connection's own handler, no channel of its own). What the upstream receives goes to the exchange it serves (bound
 * by {@link Exchange#forward}); what the exchange sends goes through these methods.
 *
 * <p>Event loop only: the upstream's connection and the caller's connection share one event loop. No method blocks.
 */
public interface Upstream {
    /**
     * What a pool yielded, as an upstream: an HTTP/2 stream ({@link H2Stream}) as it is, a pooled HTTP/1.1 connection
     * (a {@code Channel}) as its {@link UpstreamEnd}.
     */
    static Upstream of(Object pooled) {
        return pooled instanceof Channel connection ? UpstreamEnd.of(connection) : (Upstream) pooled;
    }

    /**
     * Writes one part of the request (not flushed). Takes over {@code msg}'s reference. The future fails when the
     * part cannot be written (the connection or stream is gone, or the peer's stream limit was reached for a new
     * HTTP/2 stream): nothing of it reached the peer.
     */
    ChannelFuture write(HttpObject msg);

    /** Sends what was written. */
    void flush();

    /** False while the peer cannot take more (a full outbound buffer, or an HTTP/2 stream's used-up send window). */
    boolean isWritable();

    /**
     * Whether the upstream is read. Only a connection is paused this way (HTTP/1.1); an HTTP/2 stream is held back
     * by its window ({@link #giveBack}), and ignores it.
     */
    void setAutoRead(boolean autoRead);

    /**
     * {@code bytes} of the response were relayed to the caller: an HTTP/2 stream gives that much window back to the
     * sender (WINDOW_UPDATE once enough has gathered). Nothing on HTTP/1.1. Harmless after the stream ended.
     */
    void giveBack(int bytes);

    /** The caller reset its stream: an HTTP/2 stream is reset with {@code errorCode}; a connection is closed. */
    void reset(long errorCode);

    /** Not needed any more and not reusable: an open HTTP/2 stream is reset (CANCEL); a connection is closed. */
    void close();

    /** The connection: the HTTP/1.1 connection itself, or the HTTP/2 stream's connection (its TLS peer, its drain). */
    Channel channel();

    /** Whether this is an HTTP/2 stream. */
    boolean http2();

    /** From now on what this upstream receives goes to {@code exchange} ({@link Exchange#forward}). */
    void bind(UpstreamEvents exchange);

    /** What this upstream receives from now on goes to no exchange. */
    void unbind();
}
