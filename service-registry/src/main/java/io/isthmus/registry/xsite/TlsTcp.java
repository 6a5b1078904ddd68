package io.isthmus.registry.xsite;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import javax.net.ssl.SSLSocket;

import org.jgroups.blocks.cs.Connection;
import org.jgroups.blocks.cs.TcpConnection;
import org.jgroups.protocols.TCP;

/**
 * JGroups TCP whose sockets are TLS, and which lets this package see its open connections and close one: used to
 * re-verify peers after the bundles changed ({@link PeerRevalidation}). It registers itself with {@code live} while
 * started, so the node can find the transports of channels RELAY2 creates on its own (the bridge).
 */
class TlsTcp extends TCP {
    private static final Field SOCKET = socketField();

    private final Consumer<TlsTcp> onStart;
    private final Consumer<TlsTcp> onStop;

    /** @param onStart called after the transport started; {@code onStop} before it stops */
    TlsTcp(Consumer<TlsTcp> onStart, Consumer<TlsTcp> onStop) {
        this.onStart = onStart;
        this.onStop = onStop;
    }

    private static Field socketField() {
        try {
            Field f = TcpConnection.class.getDeclaredField("sock");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError("JGroups TcpConnection has no 'sock' field: the registry cannot read "
                    + "its peers' TLS sessions with this JGroups version (" + e + ")");
        }
    }

    /** The TLS socket of a connection, or empty when it is not a TCP connection over TLS. */
    static Optional<SSLSocket> tlsSocketOf(Connection conn) {
        try {
            if (conn instanceof TcpConnection && SOCKET.get(conn) instanceof SSLSocket ssl) {
                return Optional.of(ssl);
            }
        } catch (IllegalAccessException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    @Override
    public void start() throws Exception {
        super.start();
        onStart.accept(this);
    }

    @Override
    public void stop() {
        onStop.accept(this);
        super.stop();
    }

    /** A copy of the connections open now (the server's map; JGroups threads may change it meanwhile). */
    List<Connection> openConnections() {
        List<Connection> open = new ArrayList<>();
        if (srv != null) {
            srv.forAllConnections((addr, conn) -> {
                if (conn.isConnected()) {
                    open.add(conn);
                }
            });
        }
        return open;
    }

    /**
     * Closes {@code conn} and removes it from the server, as JGroups does when a peer goes away. The socket is first
     * set to linger 0: the TLS close_notify then does not wait for a writer stuck on a full send buffer (the JDK
     * waits at most SO_LINGER for the write lock), and the peer gets a reset.
     */
    void closeRevoked(Connection conn) {
        tlsSocketOf(conn).ifPresent(s -> {
            try {
                s.setSoLinger(true, 0);
            } catch (java.net.SocketException e) {
                // already closed: closeConnection below only removes it
            }
        });
        if (srv != null) {
            srv.closeConnection(conn, true);
        }
    }
}
