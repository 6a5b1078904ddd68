package io.isthmus.registry.xsite;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

/**
 * Makes a site behind one load balancer reachable on its cross-site bridge whichever replica the balancer picks.
 * Only the site master runs the bridge (RELAY2), and it listens on {@link AdvertisedBridge#masterPort()}; every
 * replica listens on the bridge port and pipes each connection, bytes unchanged, to the current site master's bridge.
 * TLS runs end to end between the peer site and the site master: the relay sees only ciphertext and decides nothing
 * about trust (the site master's {@link BridgeTrustManager} does). A connection that arrives while no site master is
 * known, or whose site master cannot be reached, is closed; the peer dials again.
 *
 * <p>Thread-safe. One virtual thread accepts; a relayed connection uses two virtual threads, one per direction, and
 * ends as a whole when either side ends.
 */
final class BridgeRelay implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BridgeRelay.class);
    private static final int CONNECT_TIMEOUT_MILLIS = 1_000;

    private final String site;
    private final ServerSocket server;
    private final Supplier<Optional<InetSocketAddress>> siteMaster;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong relayed = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private volatile boolean closed;

    private BridgeRelay(String site, ServerSocket server, Supplier<Optional<InetSocketAddress>> siteMaster) {
        this.site = site;
        this.server = server;
        this.siteMaster = siteMaster;
    }

    /**
     * Listens on {@code listen} and relays to {@code siteMaster}'s answer at the time each connection arrives.
     *
     * @param siteMaster the site master's bridge address now (this replica's own when it is the site master), or
     *                   empty while the local cluster has no view yet; called once per accepted connection
     */
    static BridgeRelay start(String site, InetSocketAddress listen, Supplier<Optional<InetSocketAddress>> siteMaster)
            throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        try {
            server.bind(listen);
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen for relayed bridge connections of site " + site + " on " + listen + ": "
                    + e.getMessage(), e);
        }
        BridgeRelay relay = new BridgeRelay(site, server, siteMaster);
        Thread.ofVirtual().name("bridge-relay-accept-" + site).start(relay::acceptLoop);
        LOG.infof("registry: site %s relays bridge connections arriving on %s to its site master", site, listen);
        return relay;
    }

    /** Connections piped to a site master so far. */
    long relayed() {
        return relayed.get();
    }

    /** Connections closed because no site master was known or it could not be reached. */
    long refused() {
        return refused.get();
    }

    /** The address this relay listens on. */
    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket peer;
            try {
                peer = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warnf("registry: site %s stopped relaying bridge connections: %s", site, e.getMessage());
                }
                return;
            }
            Thread.ofVirtual().name("bridge-relay-" + site).start(() -> relay(peer));
        }
    }

    private void relay(Socket peer) {
        Optional<InetSocketAddress> target = siteMaster.get();
        if (target.isEmpty()) {
            refuse(peer, "no site master is known yet");
            return;
        }
        Socket master = new Socket();
        try {
            master.connect(target.get(), CONNECT_TIMEOUT_MILLIS);
        } catch (IOException e) {
            closeQuietly(master);
            refuse(peer, "site master bridge " + target.get() + " did not accept: " + e.getMessage());
            return;
        }
        relayed.incrementAndGet();
        open.add(peer);
        open.add(master);
        if (closed) {
            closeBoth(peer, master);
            return;
        }
        LOG.debugf("registry: site %s relays %s to its site master %s", site, peer.getRemoteSocketAddress(), target.get());
        Thread.ofVirtual().name("bridge-relay-" + site).start(() -> pipe(master, peer));
        pipe(peer, master);
    }

    /** Copies {@code from} to {@code to} until either ends, then ends both: a half-open bridge is of no use. */
    private void pipe(Socket from, Socket to) {
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            in.transferTo(out);
        } catch (SocketException e) {
            // the other direction closed the sockets, or a side reset: the connection is over either way
        } catch (IOException e) {
            LOG.debugf("registry: relayed bridge connection of site %s ended: %s", site, e.getMessage());
        } finally {
            closeBoth(from, to);
        }
    }

    private void closeBoth(Socket a, Socket b) {
        closeQuietly(a);
        closeQuietly(b);
        open.remove(a);
        open.remove(b);
    }

    private void refuse(Socket peer, String why) {
        long n = refused.incrementAndGet();
        LOG.debugf("registry: site %s closed a bridge connection from %s: %s (%d so far)", site,
                peer.getRemoteSocketAddress(), why, n);
        closeQuietly(peer);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing: nothing left to do
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing: nothing left to do
        }
        open.forEach(BridgeRelay::closeQuietly);
        open.clear();
    }
}
