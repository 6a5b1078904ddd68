package io.isthmus.proxy.exchange;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * A hand-written stand-in for the exchange an {@link H2Stream} serves: notes, in order, what the stream tells it, and
 * relays nothing. With {@link #relayAtOnce} it gives each body part's window back as an exchange whose caller takes
 * the bytes at once would; without it the caller is a reader that does not read. At the response's end it lets go
 * of the stream, as an exchange does.
 */
final class RecordingEvents extends UpstreamEvents {
    final BlockingQueue<String> log = new LinkedBlockingQueue<>();
    final AtomicLong bodyBytes = new AtomicLong();
    private final H2Stream stream;
    private final boolean relayAtOnce;

    RecordingEvents(H2Stream stream, boolean relayAtOnce) {
        this.stream = stream;
        this.relayAtOnce = relayAtOnce;
    }

    /** The next event within {@code seconds}, or null. */
    String next(int seconds) throws InterruptedException {
        return log.poll(seconds, TimeUnit.SECONDS);
    }

    @Override
    void fromUpstream(HttpObject msg) {
        try {
            if (msg instanceof HttpResponse r) {
                log.add("response " + r.status().code());
            }
            if (msg instanceof HttpContent c) {
                int bytes = c.content().readableBytes();
                bodyBytes.addAndGet(bytes);
                if (relayAtOnce) {
                    stream.giveBack(bytes);
                }
                if (msg instanceof LastHttpContent last) {
                    // As an exchange does at the response's end: it lets go of the stream.
                    stream.unbind();
                    log.add("end" + (last.trailingHeaders().isEmpty() ? "" : " trailers " + last.trailingHeaders()
                            .entries()));
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    void rawFromUpstream(ByteBuf bytes) {
        bytes.release();
        log.add("raw");
    }

    @Override
    void flushDownstream() {
    }

    @Override
    void upstreamWritabilityChanged(boolean writable) {
        log.add("writable " + writable);
    }

    @Override
    void upstreamIdle() {
        log.add("idle");
    }

    @Override
    void upstreamReset(long errorCode) {
        log.add("reset " + errorCode);
    }

    @Override
    void upstreamGoingAway(String why) {
        log.add("going away: " + why);
    }

    @Override
    void upstreamClosed(Throwable cause) {
        log.add("closed" + (cause == null ? "" : ": " + cause));
    }
}
