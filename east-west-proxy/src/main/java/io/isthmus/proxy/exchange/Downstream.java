package io.isthmus.proxy.exchange;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;

/**
 * The caller's side of one {@link Exchange}: an HTTP/1.1 connection ({@link DownstreamHandler}, the last handler of
 * its pipeline) or one HTTP/2 stream a caller opened ({@link H2ServerStream}, frames on its connection's
 * {@link H2ServerStreams} handler, no channel of its own). The exchange writes the response to it as HTTP objects
 * and tells it when the exchange is over; what the caller sends arrives the other way ({@link Exchange#fromDownstream}
 * and friends). The mirror image of {@link Upstream}.
 *
 * <p>Back-pressure differs by kind, and each implementation does only its own: an HTTP/1.1 connection pauses reading
 * ({@link #pause}/{@link #resume}; {@link #giveBack} does nothing), an HTTP/2 stream gives window back once the
 * request's bytes moved upstream ({@link #giveBack}; pausing does nothing, since the connection carries other
 * streams). Event loop of the connection only; not thread-safe.
 */
public interface Downstream {
    /** Writes one part of the response (not flushed). Takes over {@code msg}'s reference. */
    ChannelFuture write(HttpObject msg);

    /** {@link #write} and {@link #flush}. */
    ChannelFuture writeAndFlush(HttpObject msg);

    /** Sends what was written. */
    void flush();

    /** False while the caller cannot take more (a full outbound buffer, or an HTTP/2 stream's used-up send window). */
    boolean isWritable();

    /** Whether the caller can still be answered (its connection, or its stream, is open). */
    boolean isActive();

    /**
     * {@code bytes} of the request were written upstream (or dropped): an HTTP/2 stream gives that much window back to
     * the caller (WINDOW_UPDATE). Nothing on HTTP/1.1. Harmless after the stream ended.
     */
    void giveBack(int bytes);

    /** Stops reading the caller's connection for {@code reason} (HTTP/1.1 only; an HTTP/2 stream ignores it). */
    void pause(int reason);

    /** Reading goes on once no reason to pause is left (HTTP/1.1 only). */
    void resume(int reasons);

    /**
     * Ends the caller's HTTP/2 stream with RST_STREAM {@code errorCode} (flushed); on HTTP/1.1 it does nothing and
     * the future is done (the exchange closes the connection itself).
     */
    ChannelFuture reset(long errorCode);

    /** Gives up on the caller: an HTTP/1.1 connection is closed, an HTTP/2 stream reset (CANCEL) if still open. */
    void close();

    /**
     * The exchange is over: its last write was {@code lastWrite}. An HTTP/2 stream ends after it (a reset if the
     * request had not ended); an HTTP/1.1 connection is closed after it unless {@code keepAlive}, else its next
     * request is taken up.
     */
    void exchangeDone(Exchange e, boolean keepAlive, ChannelFuture lastWrite);

    /** The exchange switched the caller's HTTP/1.1 connection to a byte stream (an upgrade or a CONNECT). */
    void switched(Exchange e);

    /**
     * The caller's connection: the HTTP/1.1 connection itself, or the HTTP/2 stream's (its TLS session, its
     * {@link io.isthmus.proxy.http.Http2Support#PEER} attribute, its remote address, its drain).
     */
    Channel connection();

    /** The event loop of the caller's connection, which the exchange's upstreams share. */
    default EventLoop eventLoop() {
        return connection().eventLoop();
    }

    default ByteBufAllocator alloc() {
        return connection().alloc();
    }

    /** Whether the caller is an HTTP/2 stream. */
    boolean http2();
}
