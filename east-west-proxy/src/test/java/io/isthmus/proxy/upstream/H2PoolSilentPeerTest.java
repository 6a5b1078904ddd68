package io.isthmus.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.transport.NettyTransport;
import io.netty.channel.EventLoop;

/**
 * A peer that accepts the TCP connection but never speaks HTTP/2 (a hung process, a port taken by something else):
 * the stream waiting for that connection fails within the connect timeout, with that reason, and the connection is
 * closed; nothing waits forever.
 */
class H2PoolSilentPeerTest {

    @Test
    void aPeerThatSendsNoSettingsFailsTheWaitingStreamWithThatReason() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
                NettyTransport transport = NettyTransport.create(1, "h2pool-silent-test")) {
            Thread.ofVirtual().start(() -> {
                try (Socket accepted = silent.accept()) {
                    accepted.getInputStream().readAllBytes(); // reads the preface, answers nothing
                } catch (Exception ignored) {
                    // the pool closed the connection: the test is over
                }
            });
            ProxySettings defaults = ProxySettings.defaults();
            try (H2Pool pool = new H2Pool(transport, null, defaults.withTimeouts(Duration.ofMillis(500),
                    defaults.idleTimeout(), defaults.headerTimeout()))) {
                EventLoop loop = transport.workers().next();
                var stream = loop.submit(() -> pool.openStream(loop, new InetSocketAddress(silent.getInetAddress(),
                        silent.getLocalPort()))).get(5, TimeUnit.SECONDS);
                assertThatThrownBy(() -> stream.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().hasMessageContaining("sent no HTTP/2 SETTINGS within PT0.5S");
                // The stream fails as the close starts; the channel goes inactive once the HTTP/2 handler has flushed
                // its GOAWAY, which may be a moment later (a fresh-clone run read 1 here right after the failure).
                Awaitility.await("the silent peer's connection closes").atMost(Duration.ofSeconds(5))
                        .pollInterval(Duration.ofMillis(20)).until(pool::openConnections, n -> n == 0);
            }
        }
    }
}
