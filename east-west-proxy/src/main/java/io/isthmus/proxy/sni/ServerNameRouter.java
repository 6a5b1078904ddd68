package io.isthmus.proxy.sni;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.Future;

/**
 * Decides a connection's route once, from the server name of its ClientHello (null for no SNI, or for bytes that
 * are not TLS), and acts on it. Netty's ClientHello parser only peeks at the bytes; it would parse them again when
 * the connection closes, so every decision after the first is ignored. A ClientHello not complete within the
 * timeout closes the connection. Event loop only; one per connection.
 */
abstract class ServerNameRouter<T> extends AbstractSniHandler<T> {
    private boolean decided;
    private String serverName;

    ServerNameRouter(long clientHelloTimeoutMillis) {
        super(clientHelloTimeoutMillis);
    }

    /** The route for {@code serverName}; pure. */
    abstract T decide(String serverName);

    /**
     * Acts on the route: must remove this handler (the peeked bytes then flow on) or close the connection.
     */
    abstract void route(ChannelHandlerContext ctx, T route);

    /** The server name the route was decided by (null: none), for the access log; valid in {@link #route}. */
    final String serverName() {
        return serverName;
    }

    /** The bytes peeked at (the ClientHello), which the relay sends on before any it counts itself. */
    final int peekedBytes() {
        return internalBuffer().readableBytes();
    }

    @Override
    protected final Future<T> lookup(ChannelHandlerContext ctx, String hostname) {
        return ctx.executor().newSucceededFuture(decided ? null : decide(hostname));
    }

    @Override
    protected final void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<T> future) {
        if (decided) {
            return;
        }
        decided = true;
        serverName = hostname;
        if (!future.isSuccess() || future.getNow() == null) {
            ctx.close();
            return;
        }
        route(ctx, future.getNow());
    }
}
