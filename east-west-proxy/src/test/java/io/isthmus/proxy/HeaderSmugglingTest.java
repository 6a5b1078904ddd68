package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;

/**
 * What a caller can put in front of a backend besides what was authorized: each test sends raw bytes through a's
 * egress (or straight at b's ingress) to a backend of b that records every byte it receives. Underscore spellings of
 * the identity headers (read as {@code x-forwarded-client-cert} by CGI, WSGI, Rack and PHP), an h2c upgrade offered
 * inside an {@code Upgrade} list, an absolute target whose authority the validator and the router read differently,
 * and CR LF in an HTTP/2 trailer value. The first three failed before their fixes (found by an attacker review).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HeaderSmugglingTest {
    static final MeshName RAW = MeshName.of("raw", "demo");
    static final String POLICY = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: review, namespace: isthmus-system}
            spec:
              action: ALLOW
              rules:
              - from:
                - source: {principals: ["%s"]}
              - from:
                - source: {principals: ["%s"]}
                to:
                - operation: {paths: ["/public"]}
            """.formatted(Federation.CHECKOUT, Federation.CART);

    private Federation fed;
    private RawBackend backend;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)));
        fed.usePolicies(POLICY);
        backend = new RawBackend();
        fed.extraBackends.put(RAW.host(), backend.address());
        fed.export(fed.cluster("b"), RAW, new ServicePort("http", 80, Protocol.HTTP));
    }

    @AfterAll
    void stop() throws IOException {
        fed.close();
        backend.close();
    }

    @BeforeEach
    void clear() {
        backend.seen.forEach(b -> {
            synchronized (b) {
                b.setLength(0);
            }
        });
    }

    private String allSeen() {
        return String.join("", backend.seen.stream().map(b -> {
            synchronized (b) {
                return b.toString();
            }
        }).toList());
    }

    // ---- CR LF in an HTTP/2 trailer value: request smuggling into the ingress's pooled backend connection -------

    private static List<String[]> postPublic() {
        return RawH2.fields(":method: POST", ":scheme: http", ":path: /public", ":authority: " + RAW.host(),
                "authorization: Bearer cart");
    }

    @Test
    void anHttp2TrailerValueCannotSmuggleASecondRequestToTheBackend() throws Exception {
        String smuggled = "x\r\n\r\nGET /admin HTTP/1.1\r\nHost: " + RAW.host()
                + "\r\nx-forwarded-client-cert: By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI="
                + Federation.CHECKOUT + "\r\nx-pad: ";
        try (RawH2 h2 = RawH2.h2c(fed.cluster("a").egress.address())) {
            RawH2.Result r = h2.send(postPublic(), "hello".getBytes(StandardCharsets.US_ASCII),
                    List.<String[]>of(new String[] {"x-note", smuggled}));
            assertThat(r.resetCode()).as("the stream is reset: %s", r).isEqualTo(1);
        }
        // The control below shows that a request on this path reaches the backend within its own exchange.
        assertThat(allSeen()).as("what the backend of raw.demo received").doesNotContain("GET /admin");
        assertThat(fed.asked).noneSatisfy(a -> assertThat(a.path()).contains("/admin"));
    }

    /** Control for the test above: the same request with a plain trailer value goes through. */
    @Test
    void controlAPlainHttp2TrailerReachesTheBackend() throws Exception {
        try (RawH2 h2 = RawH2.h2c(fed.cluster("a").egress.address())) {
            RawH2.Result r = h2.send(postPublic(), "hello".getBytes(StandardCharsets.US_ASCII),
                    RawH2.fields("x-note: plain"));
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
        }
        assertThat(allSeen()).contains("POST /public").contains("x-note: plain");
    }

    // ---- identity header spellings that CGI/WSGI/Rack backends read as x-forwarded-client-cert -------------

    @Test
    void underscoreSpellingsOfTheIdentityHeadersDoNotReachTheBackend() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/public", RAW.host(), "Authorization: Bearer cart",
                    "x_forwarded_client_cert: By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI="
                            + Federation.CHECKOUT,
                    "x_isthmus_caller: " + Federation.CHECKOUT));
            assertThat(r.status()).isEqualTo(200);
        }
        assertThat(allSeen().toLowerCase(Locale.ROOT)).as("what the backend of raw.demo received")
                .doesNotContain("x_forwarded_client_cert").doesNotContain("x_isthmus_caller")
                .contains("x-forwarded-client-cert: by=spiffe://b.acme.internal/")
                .contains("uri=" + Federation.CART);
    }

    /** The same at b's ingress, from a's gateway vouching for cart (the ingress strips on its own). */
    @Test
    void underscoreSpellingsFromAPeerGatewayDoNotReachTheBackend() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway))) {
            RawHttp.Response r = http.exchange(RawHttp.get("/public", RAW.host(), "x-isthmus-caller: " + Federation.CART,
                    "X_Forwarded_Client_Cert: By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI="
                            + Federation.CHECKOUT, "x_isthmus_caller: " + Federation.CHECKOUT));
            assertThat(r.status()).isEqualTo(200);
        }
        assertThat(allSeen().toLowerCase(Locale.ROOT)).as("what the backend of raw.demo received")
                .doesNotContain("x_forwarded_client_cert").doesNotContain("x_isthmus_caller")
                .doesNotContain(Federation.CHECKOUT).contains("uri=" + Federation.CART);
    }

    // ---- an h2c upgrade offer passes both gateways inside an Upgrade list ------------------------------------

    @Test
    void anH2cUpgradeOfferIsNeverPassedToTheBackend() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            http.send("GET /public HTTP/1.1\r\nHost: " + RAW.host() + "\r\nAuthorization: Bearer cart\r\n"
                    + "Connection: Upgrade\r\nUpgrade: websocket, h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
            try {
                http.read();
            } catch (IOException ignored) {
                // the backend answers 400 and closes
            }
        }
        String seen = allSeen().toLowerCase(Locale.ROOT);
        assertThat(seen).as("what the backend of raw.demo received").contains("get /public");
        assertThat(seen).as("what the backend of raw.demo received").doesNotContain("h2c")
                .doesNotContain("http2-settings");
    }

    // ---- an absolute-form target whose authority the validator and the router read differently ----------------

    @Test
    void anAbsoluteTargetIsRoutedToTheHostTheValidatorCompared() throws Exception {
        for (String sep : List.of("#", "?")) {
            clear();
            try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
                RawHttp.Response r = http.exchange("GET http://" + Federation.PAYMENTS.host() + sep + "@" + RAW.host()
                        + "/public HTTP/1.1\r\nHost: " + Federation.PAYMENTS.host()
                        + "\r\nAuthorization: Bearer cart\r\n\r\n");
                // Host and the target's authority (as the validator reads it) both name payments.billing: the request
                // must go there (or be refused), never to raw.demo.
                assertThat(allSeen()).as("separator '%s': raw.demo's backend got it (response %s %s)", sep,
                        r.status(), r.body()).isBlank();
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    /**
     * Records every byte of every connection; answers each HTTP/1.1 request 200 (keep-alive), an Upgrade request 400
     * and close.
     */
    static final class RawBackend implements AutoCloseable {
        final List<StringBuffer> seen = new CopyOnWriteArrayList<>();
        private final ServerSocket server;

        RawBackend() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "raw-backend");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> serve(s), "raw-backend-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            StringBuffer log = new StringBuffer();
            seen.add(log);
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                while (true) {
                    String head = line(in, log);
                    if (head == null) {
                        return;
                    }
                    long length = 0;
                    boolean chunked = false;
                    boolean upgrade = false;
                    for (String l = line(in, log); l != null && !l.isEmpty(); l = line(in, log)) {
                        String lower = l.toLowerCase(Locale.ROOT);
                        if (lower.startsWith("content-length:")) {
                            length = Long.parseLong(lower.substring(15).trim());
                        } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                            chunked = true;
                        } else if (lower.startsWith("upgrade:")) {
                            upgrade = true;
                        }
                    }
                    if (chunked) {
                        while (true) {
                            String size = line(in, log);
                            if (size == null) {
                                return;
                            }
                            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                            if (n == 0) {
                                for (String l = line(in, log); l != null && !l.isEmpty(); l = line(in, log)) {
                                    // trailers, recorded
                                }
                                break;
                            }
                            byte[] data = in.readNBytes(n);
                            log.append(new String(data, StandardCharsets.ISO_8859_1));
                            line(in, log);
                        }
                    } else if (length > 0) {
                        log.append(new String(in.readNBytes((int) length), StandardCharsets.ISO_8859_1));
                    }
                    if (upgrade) {
                        out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                        return;
                    }
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                }
            } catch (IOException | RuntimeException e) {
                log.append("\n[backend: ").append(e).append("]");
            }
        }

        private static String line(InputStream in, StringBuffer log) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != -1) {
                log.append((char) c);
                if (c == '\n') {
                    String s = b.toString(StandardCharsets.ISO_8859_1);
                    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                }
                b.write(c);
            }
            return null;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
