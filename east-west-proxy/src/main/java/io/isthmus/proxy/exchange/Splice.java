package io.isthmus.proxy.exchange;

import java.util.List;

import io.isthmus.proxy.tunnel.HeldBytes;
import io.isthmus.proxy.tunnel.Relay;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;

/**
 * Turns two HTTP connections into one byte stream after a protocol switch (a {@code 101 Switching Protocols}, or a
 * CONNECT answered with 200): the HTTP handlers of both are removed and a {@link Relay} copies bytes each way with
 * back-pressure. Bytes a decoder held past the switch are not lost: the relays are in place before the decoders are
 * removed, and a decoder hands what it holds to the next handler on removal. Event loop only.
 */
public final class Splice {
    private Splice() {
    }

    /**
     * @param near      the caller's connection
     * @param nearHttp  the names of its HTTP handlers, in pipeline order (those present are removed, last first)
     * @param far       the upstream connection
     * @param farHttp   its HTTP handler names, in pipeline order
     * @param early     bytes the far side sent after the switch that were already read; written to {@code near} first,
     *                  once its HTTP handlers are gone
     */
    public static Spliced join(Channel near, List<String> nearHttp, Channel far, List<String> farHttp,
            List<ByteBuf> early) {
        near.config().setAutoRead(false);
        far.config().setAutoRead(false);
        Relay fromNear = new Relay(far);
        Relay fromFar = new Relay(near);
        near.pipeline().addLast("relay", fromNear);
        far.pipeline().addLast("relay", fromFar);
        // Bytes a side read before its relay stood wait in its HeldBytes, in front of the relay (a TLS client's data
        // with its last handshake flight; a server's greeting after a CONNECT's 200): they go over first.
        long heldFromNear = HeldBytes.release(near, far);
        strip(near.pipeline(), nearHttp);
        // Only now, with the caller's HTTP encoder gone: it refuses raw bytes after a response (the bytes were lost).
        long earlyBytes = 0;
        for (ByteBuf b : early) {
            earlyBytes += b.readableBytes();
            near.write(b);
        }
        long heldFromFar = HeldBytes.release(far, near);
        near.flush();
        // The far decoder's leftovers follow what it had already handed on.
        strip(far.pipeline(), farHttp);
        near.read();
        far.read();
        return new Spliced(fromNear, fromFar, heldFromNear, earlyBytes + heldFromFar);
    }

    /**
     * The two relays of a spliced pair, which count the bytes each way (for the tunnel's access-log line), and the
     * bytes each way that went over before the relays (held or early), which no relay saw.
     */
    public record Spliced(Relay fromNear, Relay fromFar, long beforeFromNear, long beforeFromFar) {
        /** Bytes from the caller to the far side so far, the held ones included. */
        public long fromCaller() {
            return beforeFromNear + fromNear.relayed();
        }

        /** Bytes from the far side to the caller so far, the early and held ones included. */
        public long toCaller() {
            return beforeFromFar + fromFar.relayed();
        }
    }

    private static void strip(ChannelPipeline p, List<String> names) {
        for (int i = names.size() - 1; i >= 0; i--) {
            if (p.get(names.get(i)) != null) {
                p.remove(names.get(i));
            }
        }
    }
}
