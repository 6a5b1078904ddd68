package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Connections that hold a listener's resources without making progress: a TCP connection that never sends its TLS
 * ClientHello, one that stops in the middle of it, and one that never sends a byte to the egress's plaintext side.
 * Each must be closed by the gateway within the header timeout (800 ms here; the idle timeout is 3 s), not held
 * until the client lets go; a bystander is served meanwhile.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SilentConnectionsTest {
    private Federation fed;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(3),
                Duration.ofMillis(800)));
    }

    @AfterAll
    void stop() {
        fed.close();
    }

    @Test
    void aTlsHandshakeNeverStartedAtTheIngressIsCutAtTheHeaderTimeout() throws Exception {
        try (Socket s = connect(fed.cluster("b").ingress.address())) {
            assertThat(closedWithin(s, 2_500)).as("closed by the gateway within the handshake timeout").isTrue();
        }
    }

    @Test
    void aClientHelloStoppedHalfwayAtTheIngressIsCutAtTheHeaderTimeout() throws Exception {
        try (Socket s = connect(fed.cluster("b").ingress.address())) {
            // A TLS record header announcing a 512-byte handshake message, then 10 of its bytes, then nothing.
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03,
                    0x03, 0, 0, 0, 0});
            s.getOutputStream().flush();
            assertThat(closedWithin(s, 2_500)).as("closed by the gateway within the handshake timeout").isTrue();
        }
        bystanderIsServed();
    }

    @Test
    void aTlsHandshakeNeverStartedAtTheEgressIsCut() throws Exception {
        try (Socket s = connect(fed.cluster("a").egress.address())) {
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00});
            s.getOutputStream().flush();
            assertThat(closedWithin(s, 2_500)).as("closed by the gateway within the handshake timeout").isTrue();
        }
    }

    @Test
    void aSilentConnectionAtTheEgressIsClosed() throws Exception {
        // The egress waits for the first bytes (TLS or plaintext) only as long as the header timeout, not the idle one.
        try (Socket s = connect(fed.cluster("a").egress.address())) {
            assertThat(closedWithin(s, 2_500)).as("closed by the gateway within the header timeout").isTrue();
        }
    }

    private static Socket connect(InetSocketAddress to) throws IOException {
        Socket s = new Socket();
        s.connect(to, 2_000);
        return s;
    }

    /** Whether the gateway ended the connection (EOF or reset) within {@code millis}, reading nothing else. */
    private static boolean closedWithin(Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        InputStream in = s.getInputStream();
        try {
            while (true) {
                int b = in.read();
                if (b < 0) {
                    return true;
                }
                // a TLS alert or an HTTP error: read on to the end
            }
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private void bystanderIsServed() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            assertThat(http.exchange(RawHttp.get("/", Federation.PAYMENTS.host(), "Authorization: Bearer checkout"))
                    .status()).isEqualTo(200);
        }
    }
}
