package io.isthmus.trust.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Free ports for servers that must know each other's address before they start.
 *
 * <p>Ports come from below the kernel's ephemeral range (32768-60999 on Linux): a port the kernel handed out
 * for {@code bind(0)} is released before the server binds it, and in that window an outgoing connection may
 * take it as its local port (a gateway then fails with "port in use"). Below the range only listeners bind.
 * Each JVM walks its own slice, chosen from its PID, so concurrent test JVMs rarely meet, and a port is only
 * handed out once per JVM and only if it binds on every address right now.
 */
public final class FreePorts {
    private static final int LOW = 12000;
    private static final int HIGH = 32000;
    private static final AtomicInteger NEXT =
            new AtomicInteger(LOW + (int) (ProcessHandle.current().pid() * 211 % (HIGH - LOW)));

    private FreePorts() {
    }

    public static int next() {
        for (int attempt = 0; attempt < HIGH - LOW; attempt++) {
            int port = LOW + Math.floorMod(NEXT.getAndIncrement() - LOW, HIGH - LOW);
            if (bindable(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port between " + LOW + " and " + HIGH);
    }

    /** Whether {@code port} binds on loopback and on every address right now (for a fixed layout of ports). */
    public static boolean bindable(int port) {
        for (InetAddress address : new InetAddress[] {InetAddress.getLoopbackAddress(), null}) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(address == null ? new InetSocketAddress(port) : new InetSocketAddress(address, port), 1);
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }
}
