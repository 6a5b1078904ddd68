package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.status.TrustStatus;
import io.isthmus.trust.text.Printable;
import io.isthmus.trust.tls.SvidKeyManager;

/**
 * A compromised peer gateway (it holds its genuine gateway SVID, so its bundle endpoint authenticates) serves a bundle
 * whose strings carry terminal escapes and line breaks. What the fetch reports (the refusal's message, which becomes
 * the peer's {@code lastError} in the federation status, {@code isthmus check} and a WARN log line; and the warnings,
 * logged at WARN) must quote them escaped: raw, they forge lines in the operator's terminal and in the log.
 */
class HostileBundleTextTest {
    /** Erases the line, moves up one, and prints a passing check; then a forged log entry. */
    static final String FORGED = "\u001b[2K\u001b[1A\r\u2713 peer-bundle  holds sequence 9\n2026-01-01T00:00:00Z INFO forged"
            + "\u001b]8;;https://evil.example/\u0007link\u001b]8;;\u0007\u009b2J\u202e";

    private final AtomicReference<String> served = new AtomicReference<>();
    private BundleEndpointFixture fixture;
    private HttpsServer server;

    @BeforeEach
    void startHostileEndpoint() throws Exception {
        fixture = BundleEndpointFixture.create();
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(new javax.net.ssl.KeyManager[] {new SvidKeyManager(fixture::svid)}, new TrustManager[0], null);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", exchange -> {
            byte[] body = served.get().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private BundleEndpointClient client() {
        URI endpoint = URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/");
        return new BundleEndpointClient(new PeerConfig("beta", fixture.td(), endpoint, Optional.empty()),
                fixture.pki().roots(), ignored -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30),
                new BundleCodec(), Duration.ofSeconds(10), null);
    }

    private String x509Key() throws CertificateEncodingException {
        return "{\"use\":\"x509-svid\",\"kty\":\"EC\",\"x5c\":[\""
                + Base64.getEncoder().encodeToString(fixture.bundle().x509Authorities().get(0).getEncoded()) + "\"]}";
    }

    private static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(c -> b.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", c) : Character.toString(c)));
        return b.append('"').toString();
    }

    private String refusalOf(String bundle) {
        served.set(bundle);
        Throwable t = catchThrowable(() -> client().fetch().join());
        assertThat(t).isInstanceOf(CompletionException.class).hasCauseInstanceOf(BundleRejectedException.class);
        return t.getCause().getMessage();
    }

    @Test
    void aRefusedBundlesMessageQuotesThePeersStringsEscaped() throws Exception {
        String leakedKey = refusalOf("{\"spiffe_sequence\":9,\"keys\":[" + x509Key() + ",{\"use\":\"jwt-svid\",\"kty\":\"EC\","
                + "\"kid\":" + json(FORGED) + ",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\",\"d\":\"AA\"}]}");
        assertThat(leakedKey).contains("has private parameter 'd'");
        assertThat(Printable.isSafe(leakedKey)).as("printable: %s", leakedKey).isTrue();
        assertThat(leakedKey).contains(Printable.escape(FORGED));

        String badCurve = refusalOf("{\"spiffe_sequence\":9,\"keys\":[" + x509Key() + ",{\"use\":\"jwt-svid\",\"kty\":\"EC\","
                + "\"kid\":\"k1\",\"crv\":" + json(FORGED) + ",\"x\":\"AA\",\"y\":\"AA\"}]}");
        assertThat(badCurve).contains("crv must be P-256");
        assertThat(Printable.isSafe(badCurve)).as("printable: %s", badCurve).isTrue();
    }

    @Test
    void aBundlesWarningsQuoteThePeersStringsEscaped() throws Exception {
        served.set("{\"spiffe_sequence\":9,\"keys\":[" + x509Key() + ",{\"use\":" + json(FORGED) + ",\"kty\":\"EC\"},"
                + "{\"use\":\"x509-svid\",\"kty\":" + json(FORGED) + "}]}");
        ParsedBundle parsed = client().fetch().join();
        assertThat(parsed.warnings()).hasSize(2).allSatisfy(w ->
                assertThat(Printable.isSafe(w)).as("printable: %s", w).isTrue());
        assertThat(parsed.bundle().x509Authorities()).hasSize(1);
    }

    /**
     * The peer answers with a broken HTTP head whose status line or header carries the forged text: the JDK's HTTP
     * client quotes what it could not parse in its exception, which becomes the fetch's refusal (the peer's
     * {@code lastError} and a WARN line).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"status line", "header", "reason phrase"})
    void aBrokenAnswersTextIsQuotedEscapedInTheRefusal(String where) throws Exception {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(new javax.net.ssl.KeyManager[] {new SvidKeyManager(fixture::svid)}, new TrustManager[0], null);
        String head = switch (where) {
            case "status line" -> "HTTP/1.1 2" + FORGED + "\r\n\r\n";
            case "header" -> "HTTP/1.1 200 OK\r\nX" + FORGED.replace("\n", "") + "\r\nContent-Length: 0\r\n\r\n";
            default -> "HTTP/1.1 500 " + FORGED.replace("\n", "") + "\r\nContent-Length: 0\r\n\r\n";
        };
        try (javax.net.ssl.SSLServerSocket raw = (javax.net.ssl.SSLServerSocket) tls.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread answer = Thread.ofVirtual().start(() -> {
                try (java.net.Socket s = raw.accept()) {
                    java.io.InputStream in = s.getInputStream();
                    int state = 0;
                    while (state < 4) { // read the request head, up to its empty line
                        int b = in.read();
                        if (b < 0) {
                            return;
                        }
                        state = (b == '\r' && state % 2 == 0) || (b == '\n' && state % 2 == 1) ? state + 1 : 0;
                    }
                    s.getOutputStream().write(head.getBytes(StandardCharsets.UTF_8));
                    s.getOutputStream().flush();
                } catch (java.io.IOException ignored) {
                    // the client gave up: the assertion below says what it saw
                }
            });
            URI endpoint = URI.create("https://127.0.0.1:" + raw.getLocalPort() + "/");
            BundleEndpointClient client = new BundleEndpointClient(new PeerConfig("beta", fixture.td(), endpoint,
                    Optional.empty()), fixture.pki().roots(), ignored -> Optional.empty(), Clock.systemUTC(),
                    Duration.ofSeconds(30), new BundleCodec(), Duration.ofSeconds(10), null);
            Throwable t = catchThrowable(() -> client.fetch().join());
            answer.join(10_000);
            assertThat(t).hasCauseInstanceOf(BundleRejectedException.class);
            String refusal = t.getCause().getMessage();
            assertThat(Printable.isSafe(refusal)).as("printable: %s", refusal).isTrue();
        }
    }

    @Test
    void aPeersTrustStatusIsQuotedEscapedInItsRefusalAndItsFields() throws Exception {
        served.set("{\"trustDomain\":\"b.acme.internal\",\"at\":\"2026-01-01T00:00:00Z\",\"roots\":[],\"bundles\":{"
                + json(FORGED) + ":{\"x509Authorities\":[]}}}");
        Throwable t = catchThrowable(() -> client().fetchStatus(Duration.ofSeconds(10)).join());
        assertThat(t).hasCauseInstanceOf(BundleRejectedException.class);
        assertThat(t.getCause().getMessage()).contains("sequence is missing");
        assertThat(Printable.isSafe(t.getCause().getMessage())).as("printable: %s", t.getCause().getMessage()).isTrue();

        served.set("{\"trustDomain\":\"b.acme.internal\",\"at\":\"2026-01-01T00:00:00Z\",\"roots\":[{\"sha256\":"
                + json(FORGED) + ",\"serial\":\"01\",\"subject\":" + json(FORGED) + ",\"notAfter\":\"2027-01-01T00:00:00Z\"}],"
                + "\"bundles\":{\"a.acme.internal\":{\"sequence\":3,\"x509Authorities\":[" + json(FORGED) + "],"
                + "\"lastError\":" + json(FORGED) + "}},\"intermediate\":{\"serial\":\"02\",\"notBefore\":"
                + "\"2026-01-01T00:00:00Z\",\"notAfter\":\"2027-01-01T00:00:00Z\"},\"rotation\":{\"phase\":"
                + json(FORGED) + ",\"step\":" + json(FORGED) + ",\"nextSerial\":" + json(FORGED) + "}}");
        TrustStatus status = client().fetchStatus(Duration.ofSeconds(10)).join();
        assertThat(Printable.isSafe(status.toString())).as("printable: %s", status).isTrue();
        assertThat(status.rotation().phase()).isEqualTo(Printable.escape(FORGED));
    }
}
