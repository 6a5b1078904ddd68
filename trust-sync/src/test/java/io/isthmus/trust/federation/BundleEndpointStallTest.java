package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

import org.junit.jupiter.api.Test;

/**
 * A client that stalls in its TLS handshake holds up only its own connection: a peer's fetch is answered at once.
 * On the JDK's HTTPS server with a pool of two threads (the endpoint before 5f4dab1), two stalled clients, or two
 * whose reverse DNS lookups hung behind the test's load balancers, held every later fetch until they went away (peers
 * saw "HTTP connect timed out"). The endpoint now runs on Netty: handshakes never block a thread.
 */
class BundleEndpointStallTest {
    private static final int STALLED = 4;

    @Test
    void clientsStalledInTheirHandshakeDoNotDelayAPeersFetch() throws Exception {
        BundleEndpointFixture endpoint = BundleEndpointFixture.create();
        List<Socket> stalled = new ArrayList<>();
        try (BundleEndpointServer server = endpoint.start(Clock.systemUTC())) {
            InetSocketAddress at = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.address().getPort());
            List<Boolean> answered = new ArrayList<>();
            for (int i = 0; i < STALLED; i++) {
                Socket s = new Socket();
                stalled.add(s);
                answered.add(stallInHandshake(s, at));
            }
            HttpClient http = HttpClient.newBuilder().sslContext(endpoint.peerTls()).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + at.getPort() + "/"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("keys");
            assertThat(answered).as("every stalled client got its ServerHello").containsOnly(true);
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    /**
     * Sends a real ClientHello and waits (at most 3 s) until the server answers it, so that a server thread is now in
     * this handshake; then never sends the rest, as a client whose packets stopped would. Returns whether it was answered.
     */
    private static boolean stallInHandshake(Socket s, InetSocketAddress at) throws Exception {
        SSLEngine client = SSLContext.getDefault().createSSLEngine();
        client.setUseClientMode(true);
        client.beginHandshake();
        ByteBuffer hello = ByteBuffer.allocate(client.getSession().getPacketBufferSize());
        client.wrap(ByteBuffer.allocate(0), hello);
        hello.flip();
        s.connect(at, 5_000);
        s.getOutputStream().write(hello.array(), 0, hello.limit());
        s.getOutputStream().flush();
        // A server whose threads are all held by earlier stalled clients never answers.
        s.setSoTimeout(3_000);
        InputStream in = s.getInputStream();
        try {
            return in.read() == 0x16;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }
}
