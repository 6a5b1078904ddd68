package io.isthmus.proxy.passthrough;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.proxy.exchange.Splice;
import io.isthmus.proxy.tunnel.HeldBytes;
import io.isthmus.proxy.tunnel.Tunnels;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * Turns a connection whose first bytes a router only peeked at into a byte relay to the first of its targets that
 * accepts a TCP connection: the router and every handler after it (TLS, HTTP) are removed unused, the peeked bytes
 * are held, then written to the far end before anything else, and both sides are spliced ({@link Splice}). Nothing
 * is decrypted or parsed: the far end gets exactly the bytes the caller sent.
 */
public final class PassthroughRelay {
    private PassthroughRelay() {
    }

    /** One place the bytes may go, with the name it is logged under. */
    public record Target(InetSocketAddress address, String label) {
    }

    /** A relay that runs: the far end, the target it is, and the byte counts each way. */
    public record Relayed(Channel far, Target target, Splice.Spliced spliced) {
    }

    /**
     * Call from {@code router}'s own event-loop callback while it still holds the peeked bytes. The returned future
     * succeeds with the far end (and the relay's byte counts) once the relay runs, or fails (every target refused the connection; the caller's
     * connection is then closed) with each target's failure in its message.
     */
    public static Future<Relayed> start(ChannelHandlerContext router, List<Target> targets, Tunnels tunnels) {
        Channel near = router.channel();
        near.config().setAutoRead(false);
        ChannelPipeline p = near.pipeline();
        List<ChannelHandler> after = new ArrayList<>();
        boolean seen = false;
        for (var e : p) {
            if (seen) {
                after.add(e.getValue());
            }
            seen |= e.getValue() == router.handler();
        }
        // Last first: a TLS handler removed before its handshake tells the handlers after it that the handshake
        // failed, and a request handler would close the connection on that.
        for (int i = after.size() - 1; i >= 0; i--) {
            p.remove(after.get(i));
        }
        p.addAfter(router.name(), HeldBytes.NAME, new HeldBytes());
        // Removing the router hands its buffered bytes (the ClientHello) to HeldBytes.
        p.remove(router.handler());
        Promise<Relayed> result = near.eventLoop().newPromise();
        attempt(near, targets, 0, new ArrayList<>(), tunnels, result);
        return result;
    }

    private static void attempt(Channel near, List<Target> targets, int index, List<String> failures, Tunnels tunnels,
            Promise<Relayed> result) {
        if (!near.isActive()) {
            result.tryFailure(new java.io.IOException("the caller closed the connection"));
            return;
        }
        if (index >= targets.size()) {
            near.close();
            result.tryFailure(new java.io.IOException(String.join("; ", failures)));
            return;
        }
        Target target = targets.get(index);
        tunnels.connectPlain(near.eventLoop(), target.address()).addListener(f -> {
            if (!f.isSuccess()) {
                failures.add(target.label() + ": " + f.cause().getMessage());
                attempt(near, targets, index + 1, failures, tunnels, result);
                return;
            }
            Channel far = (Channel) f.getNow();
            if (!near.isActive()) {
                far.close();
                result.tryFailure(new java.io.IOException("the caller closed the connection"));
                return;
            }
            result.trySuccess(new Relayed(far, target, Splice.join(near, List.of(), far, List.of(), List.of())));
        });
    }
}
