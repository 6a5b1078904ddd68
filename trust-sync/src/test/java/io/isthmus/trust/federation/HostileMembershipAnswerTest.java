package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.TrustManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.membership.MembershipGossip;
import io.isthmus.trust.membership.MembershipVerifier;
import io.isthmus.trust.text.Printable;
import io.isthmus.trust.tls.SvidKeyManager;

/**
 * A compromised member (its endpoint authenticates with its genuine gateway SVID) answers the membership gossip of
 * the other gateways: with an endless body, which a client that reads the whole answer before checking its size holds
 * in its heap (every member polls every other one), or with a broken HTTP head whose bytes the JDK's client quotes in
 * its exception, which reaches the log.
 */
class HostileMembershipAnswerTest {
    private BundleEndpointFixture fixture;
    private SSLServerSocket server;
    private Thread answering;
    private final AtomicLong written = new AtomicLong();

    @BeforeEach
    void setUp() throws Exception {
        fixture = BundleEndpointFixture.create();
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(new javax.net.ssl.KeyManager[] {new SvidKeyManager(fixture::svid)}, new TrustManager[0], null);
        server = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        if (answering != null) {
            answering.join(10_000);
        }
    }

    private MembershipGossip gossip() {
        return new MembershipGossip(fixture.pki().roots(), ignored -> Optional.empty(), Clock.systemUTC(),
                Duration.ofSeconds(30), Duration.ofSeconds(20), null);
    }

    private URI endpoint() {
        return URI.create("https://127.0.0.1:" + server.getLocalPort() + "/");
    }

    /** Answers one request: {@code head}, then up to {@code bodyBytes} of 'A' (stops when the client goes away). */
    private void answerOnce(String head, long bodyBytes) {
        answering = Thread.ofPlatform().daemon().start(() -> {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                int state = 0;
                while (state < 4) { // the request head, up to its empty line
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    state = (b == '\r' && state % 2 == 0) || (b == '\n' && state % 2 == 1) ? state + 1 : 0;
                }
                OutputStream out = s.getOutputStream();
                out.write(head.getBytes(StandardCharsets.ISO_8859_1));
                byte[] chunk = new byte[64 * 1024];
                Arrays.fill(chunk, (byte) 'A');
                while (written.get() < bodyBytes) {
                    out.write(chunk);
                    written.addAndGet(chunk.length);
                }
                out.flush();
            } catch (IOException clientWentAway) {
                // what a bounded client does once it has read enough
            }
        });
    }

    @Test
    void anEndlessAnswerIsCutOffAtTheDocumentLimitNotReadIntoTheHeap() throws Exception {
        long endless = 512L * 1024 * 1024;
        answerOnce("HTTP/1.1 200 OK\r\nContent-Type: application/jose\r\nContent-Length: " + endless + "\r\n\r\n",
                endless);
        Throwable t = catchThrowable(() -> gossip().fetch(endpoint()).get(20, TimeUnit.SECONDS));
        assertThat(t).hasMessageContaining("answered more than " + MembershipVerifier.MAX_BYTES + " bytes");
        answering.join(10_000);
        assertThat(written.get()).as("bytes the member got to send before the gateway hung up")
                .isLessThan(32L * 1024 * 1024);
    }

    @Test
    void aBrokenHeadsBytesAreQuotedEscaped() throws Exception {
        answerOnce("HTTP/1.1 200 OK\r\nX\u001b[2K\r\u009b2J forged: 1\r\nContent-Length: 0\r\n\r\n", 0);
        Throwable t = catchThrowable(() -> gossip().fetch(endpoint()).get(20, TimeUnit.SECONDS));
        assertThat(t).isNotNull();
        assertThat(Printable.isSafe(String.valueOf(t.getMessage()))).as("printable: %s", t.getMessage()).isTrue();
        assertThat(t.getCause()).isNotNull();
        assertThat(Printable.isSafe(String.valueOf(t.getCause().getMessage())))
                .as("printable: %s", t.getCause().getMessage()).isTrue();
    }

    @Test
    void anEndlessAnswerToAPushIsCutOffToo() throws Exception {
        long endless = 512L * 1024 * 1024;
        answerOnce("HTTP/1.1 409 Conflict\r\nContent-Length: " + endless + "\r\n\r\n", endless);
        var answer = gossip().push(endpoint(), "x.y.z").get(20, TimeUnit.SECONDS);
        assertThat(answer.statusCode()).isEqualTo(409);
        assertThat(answer.body().length()).isLessThanOrEqualTo(MembershipGossip.MAX_ANSWER_CHARS);
        answering.join(10_000);
        assertThat(written.get()).as("bytes the member got to send before the gateway hung up")
                .isLessThan(32L * 1024 * 1024);
    }
}
