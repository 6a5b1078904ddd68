package io.isthmus.proxy.tls;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.util.AttributeKey;

/**
 * Ending a connection gently or at once. Draining a connection stops new work on it and lets what is in flight
 * finish, within a deadline: an HTTP/2 connection sends GOAWAY and closes when its last stream ends (Netty's graceful
 * shutdown); an HTTP/1.1 connection is marked, so that its current exchange is its last ({@code Connection: close} on
 * a listener, not pooled again in a client pool); a tunnel runs until it ends or the deadline. Closing now resets
 * whatever is in flight. Event loop of the connection only.
 */
public final class ConnectionDrain {
    private static final AttributeKey<Boolean> DRAINING = AttributeKey.valueOf("isthmus.draining");
    /** Set when the peer's GOAWAY is read: unlike the codec's state, it is still there once the pipeline is gone. */
    private static final AttributeKey<Boolean> PEER_GOING_AWAY = AttributeKey.valueOf("isthmus.peer-going-away");

    private ConnectionDrain() {
    }

    /** Whether {@code connection} is draining: no new request or stream may start on it. */
    public static boolean isDraining(Channel connection) {
        if (Boolean.TRUE.equals(connection.attr(DRAINING).get())
                || Boolean.TRUE.equals(connection.attr(PEER_GOING_AWAY).get())) {
            return true;
        }
        Http2ConnectionHandler h2 = connection.pipeline().get(Http2ConnectionHandler.class);
        return h2 != null && (h2.connection().goAwayReceived() || h2.connection().goAwaySent());
    }

    /**
     * Records that the peer sent GOAWAY on {@code connection}. A stream it loses afterwards (its channel may close
     * after the connection's pipeline was taken down) is then known to have been lost to a drain.
     */
    public static void peerGoingAway(Channel connection) {
        connection.attr(PEER_GOING_AWAY).set(Boolean.TRUE);
    }

    public static void drain(Channel connection, Duration deadline) {
        if (Boolean.TRUE.equals(connection.attr(DRAINING).getAndSet(Boolean.TRUE))) {
            return;
        }
        Http2ConnectionHandler h2 = connection.pipeline().get(Http2ConnectionHandler.class);
        if (h2 != null) {
            h2.gracefulShutdownTimeoutMillis(deadline.toMillis());
            connection.close();
        } else {
            connection.eventLoop().schedule(() -> {
                connection.close();
            }, deadline.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    public static void closeNow(Channel connection) {
        connection.attr(DRAINING).set(Boolean.TRUE);
        Http2ConnectionHandler h2 = connection.pipeline().get(Http2ConnectionHandler.class);
        if (h2 != null) {
            h2.gracefulShutdownTimeoutMillis(0);
        }
        connection.close();
    }
}
