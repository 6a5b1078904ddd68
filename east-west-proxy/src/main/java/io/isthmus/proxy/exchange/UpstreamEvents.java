package io.isthmus.proxy.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpObject;

/**
 * What an {@link Upstream} tells the exchange it serves ({@link Exchange} is the one implementation; a test may record
 * them). Each is called on the event loop, at most until the exchange unbinds itself; the end of the stream or
 * connection ({@link #upstreamReset}, {@link #upstreamGoingAway}, {@link #upstreamClosed}) is told once.
 */
abstract class UpstreamEvents {
    /** A part of the response (head, interim 1xx, content, trailers); the receiver owns it. */
    abstract void fromUpstream(HttpObject msg);

    /** Bytes that followed a {@code 101} on an HTTP/1.1 connection. */
    abstract void rawFromUpstream(ByteBuf bytes);

    /** The end of a read: what was relayed to the caller may be flushed. */
    abstract void flushDownstream();

    /** The upstream can take more (or, when false, cannot). */
    abstract void upstreamWritabilityChanged(boolean writable);

    /** Nothing moved either way for the request timeout. */
    abstract void upstreamIdle();

    /** The peer reset the stream with {@code errorCode}. */
    abstract void upstreamReset(long errorCode);

    /** The peer's GOAWAY did not cover this stream: the peer never processed it. */
    abstract void upstreamGoingAway(String why);

    /** The stream or connection ended, broken by {@code cause} or (null) closed, before the exchange released it. */
    abstract void upstreamClosed(Throwable cause);
}
