package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 10 section 3: requests that two HTTP readers could read differently (smuggling), or that are malformed,
 * sent byte for byte to both listeners: a's egress (plaintext, bearer token) and b's ingress (mTLS as a's gateway).
 * Each HTTP/1.1 row must get its status (400 unless HTTP names a more precise one) with the named reason, and the
 * connection must then be closed with nothing more sent (a smuggled second request is never answered). Each HTTP/2
 * row must get 400 with the named reason or a stream reset (PROTOCOL_ERROR) while the connection keeps serving. A
 * bystander connection opened before the table is served after every row, and no refused request reaches policy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileHttpTest {
    private static final String HOST = "payments.billing.svc.clusterset.local";
    private static final String H = "Host: " + HOST + "\r\n";

    enum Listener { EGRESS, INGRESS }

    private Federation fed;
    private RawHttp egressBystander;
    private RawHttp ingressBystander;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)).withMaxHeaderSize(8192));
        egressBystander = RawHttp.plain(fed.cluster("a").egress.address());
        ingressBystander = open(Listener.INGRESS);
    }

    @AfterAll
    void stop() throws Exception {
        egressBystander.close();
        ingressBystander.close();
        fed.close();
    }

    /** Name, raw request ({@code ID} stands for the listener's identity header line), status, reason. */
    static final List<Object[]> HTTP1 = List.of(
            row("CL + TE (smuggling)", "POST / HTTP/1.1\r\n" + H + "ID\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
                    400, "content-length-with-transfer-encoding"),
            row("TE + CL (smuggling)", "POST / HTTP/1.1\r\n" + H + "ID\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"
                    + "5\r\nGET /\r\n0\r\n\r\n", 400, "content-length-with-transfer-encoding"),
            row("two different CLs", "POST / HTTP/1.1\r\n" + H + "ID\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc",
                    400, "multiple-content-length"),
            row("a CL list", "POST / HTTP/1.1\r\n" + H + "ID\r\nContent-Length: 3, 40\r\n\r\nabc", 400,
                    "multiple-content-length"),
            row("a signed CL", "POST / HTTP/1.1\r\n" + H + "ID\r\nContent-Length: +3\r\n\r\nabc", 400,
                    "invalid-content-length"),
            row("TE whose last coding is not chunked", "POST / HTTP/1.1\r\n" + H + "ID\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                    + "0\r\n\r\n", 400, "transfer-encoding-not-chunked"),
            row("TE gzip, a request hidden in the body", "POST / HTTP/1.1\r\n" + H + "ID\r\nTransfer-Encoding: gzip\r\n\r\n"
                    + "GET /admin HTTP/1.1\r\n" + H + "\r\n", 400, "transfer-encoding-not-chunked"),
            row("two TE headers", "POST / HTTP/1.1\r\n" + H + "ID\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n"
                    + "0\r\n\r\n", 400, "transfer-encoding-not-chunked"),
            row("TE look-alike", "POST / HTTP/1.1\r\n" + H + "ID\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400,
                    "transfer-encoding-not-chunked"),
            row("whitespace before the colon", "POST / HTTP/1.1\r\n" + H + "ID\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
                    400, "whitespace-before-colon"),
            row("obs-fold", "GET / HTTP/1.1\r\n" + H + "ID\r\nX-A: b\r\n c\r\n\r\n", 400, "obs-fold"),
            row("obs-fold with HTAB", "GET / HTTP/1.1\r\n" + H + "ID\r\nX-A: b\r\n\tc\r\n\r\n", 400, "obs-fold"),
            row("whitespace before the first header", "GET / HTTP/1.1\r\n " + H + "ID\r\n\r\n", 400, "obs-fold"),
            row("NUL in a value", "GET / HTTP/1.1\r\n" + H + "ID\r\nX-A: b\u0000c\r\n\r\n", 400,
                    "control-character-in-header"),
            row("CR in a value", "GET / HTTP/1.1\r\n" + H + "ID\r\nX-A: b\rc\r\n\r\n", 400, "control-character-in-header"),
            row("SOH in a value", "GET / HTTP/1.1\r\n" + H + "ID\r\nX-A: b\u0001c\r\n\r\n", 400,
                    "control-character-in-header"),
            row("DEL in a value", "GET / HTTP/1.1\r\n" + H + "ID\r\nX-A: b\u007fc\r\n\r\n", 400,
                    "control-character-in-header"),
            row("NUL in a name", "GET / HTTP/1.1\r\n" + H + "ID\r\nX\u0000A: b\r\n\r\n", 400, "invalid-header-name"),
            row("empty name", "GET / HTTP/1.1\r\n" + H + "ID\r\n: b\r\n\r\n", 400, "invalid-header-name"),
            row("no Host", "GET / HTTP/1.1\r\nID\r\n\r\n", 400, "missing-host"),
            row("two Hosts", "GET / HTTP/1.1\r\n" + H + "Host: evil.example\r\nID\r\n\r\n", 400, "multiple-host"),
            row("space in Host", "GET / HTTP/1.1\r\nHost: payments billing\r\nID\r\n\r\n", 400, "invalid-host"),
            row("empty Host", "GET / HTTP/1.1\r\nHost: \r\nID\r\n\r\n", 400, "invalid-host"),
            row("userinfo in Host", "GET / HTTP/1.1\r\nHost: admin@" + HOST + "\r\nID\r\n\r\n", 400, "userinfo-in-host"),
            row("absolute form naming another host", "GET http://evil.example/ HTTP/1.1\r\n" + H + "ID\r\n\r\n", 400,
                    "host-mismatch"),
            row("absolute form with userinfo", "GET http://admin@" + HOST + "/ HTTP/1.1\r\n" + H + "ID\r\n\r\n", 400,
                    "userinfo-in-host"),
            row("NUL in the target", "GET /a\u0000b HTTP/1.1\r\n" + H + "ID\r\n\r\n", 400, "invalid-request-target"),
            row("non-ASCII in the target", "GET /\u00ff HTTP/1.1\r\n" + H + "ID\r\n\r\n", 400, "invalid-request-target"),
            row("HTTP/2.0 on an HTTP/1 connection", "GET / HTTP/2.0\r\n" + H + "ID\r\n\r\n", 505,
                    "unsupported-http-version"),
            row("garbage after the version", "GET / HTTP/1.1 x\r\n" + H + "ID\r\n\r\n", 400, "malformed-request-line"),
            row("NUL in the method", "G\u0000ET / HTTP/1.1\r\n" + H + "ID\r\n\r\n", 400, "malformed-request-line"),
            row("lower-case method (past a DENY on DELETE)", "delete / HTTP/1.1\r\n" + H + "ID\r\n\r\n", 400,
                    "lower-case-method"),
            row("mixed-case method", "Get / HTTP/1.1\r\n" + H + "ID\r\n\r\n", 400, "lower-case-method"),
            row("bare LF line ends", "GET / HTTP/1.1\n" + H.replace("\r\n", "\n") + "ID\n\n", 400, "bare-line-feed"),
            row("bad chunk size", "POST / HTTP/1.1\r\n" + H + "ID\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
                    "invalid-chunk"),
            row("oversized request line", "GET /" + "a".repeat(5000) + " HTTP/1.1\r\n" + H + "ID\r\n\r\n", 414,
                    "request-line-too-long"),
            row("oversized headers", "GET / HTTP/1.1\r\n" + H + "ID\r\nX-Big: " + "b".repeat(10_000) + "\r\n\r\n", 431,
                    "header-too-large"));

    private static Object[] row(String name, String raw, int status, String reason) {
        return new Object[] {name, raw, status, reason};
    }

    static Stream<Arguments> http1() {
        List<Arguments> out = new ArrayList<>();
        for (Object[] r : HTTP1) {
            for (Listener l : Listener.values()) {
                out.add(Arguments.of(r[0], l, r[1], r[2], r[3]));
            }
        }
        return out.stream();
    }

    @Test
    void theTablesAreLargeEnough() {
        assertThat(HTTP1).hasSizeGreaterThanOrEqualTo(30);
        assertThat(HTTP2).hasSizeGreaterThanOrEqualTo(20);
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("http1")
    void http1RowIsRefusedAndTheConnectionClosed(String name, Listener listener, String raw, int status,
            String reason) throws Exception {
        int asked = fed.asked.size();
        try (RawHttp http = open(listener)) {
            http.send(raw.replace("ID", identity(listener)));
            RawHttp.Response r = http.read();
            assertThat(r.status()).as("%s", r).isEqualTo(status);
            assertThat(r.reason()).isEqualTo(reason);
            assertThat(r.body()).contains("\"reason\":\"" + reason + "\"");
            assertThat(http.closedWithoutResponse()).as("closed, nothing more answered").isTrue();
        }
        assertThat(fed.asked).as("policy was never asked").hasSize(asked);
        assertThat(refused(listener, reason)).isGreaterThanOrEqualTo(1);
        bystandersAreServed();
    }

    /** Name, header fields (as RawH2.get builds them, then edited), and a status with reason or a reset. */
    static final List<Object[]> HTTP2 = List.of(
            h2("upper-case header name", fields("X-Upper: 1"), "reset 1"),
            h2("connection-specific: connection", fields("connection: keep-alive"), "reset 1"),
            h2("connection-specific: transfer-encoding", fields("transfer-encoding: chunked"), "reset 1"),
            h2("connection-specific: keep-alive", fields("keep-alive: 5"), "reset 1"),
            h2("connection-specific: proxy-connection", fields("proxy-connection: close"), "reset 1"),
            h2("connection-specific: upgrade", fields("upgrade: h2c"), "reset 1"),
            h2("te other than trailers", fields("te: gzip"), "reset 1"),
            h2("pseudo-header after a regular one", move(fields("x-a: 1"), 4, 1), "reset 1"),
            h2("pseudo-header twice", add(fields(), ":path", "/admin"), "reset 1"),
            h2("unknown pseudo-header", add(fields(), ":foo", "x"), "reset 1"),
            h2("response pseudo-header in a request", add(fields(), ":status", "200"), "reset 1"),
            h2("empty :path", set(fields(), ":path", ""), "reset 1"),
            h2("content-length without the body", fields("content-length: 5"), "reset 1"),
            h2("two content-lengths", fields("content-length: 0", "content-length: 1"), "reset 1"),
            h2("no :method", drop(fields(), ":method"), "400 missing-pseudo-header"),
            h2("no :scheme", drop(fields(), ":scheme"), "400 missing-pseudo-header"),
            h2("no :path", drop(fields(), ":path"), "400 missing-pseudo-header"),
            h2(":scheme ftp", set(fields(), ":scheme", "ftp"), "400 invalid-scheme"),
            h2("no :authority, no host", drop(fields(), ":authority"), "400 missing-host"),
            h2("userinfo in :authority", set(fields(), ":authority", "admin@" + HOST), "400 userinfo-in-host"),
            h2(":authority and host differ", fields("host: evil.example"), "400 multiple-host"),
            h2("NUL in a value", fields("x-a: b\u0000c"), "400 control-character-in-header"),
            h2("CR LF in a value", fields("x-a: b\r\nx-b: c"), "400 control-character-in-header"),
            h2("space in a name", add(fields(), "x a", "b"), "400 invalid-header-name"),
            h2("space in :path", set(fields(), ":path", "/a b"), "400 invalid-request-target"),
            h2("lower-case :method", set(fields(), ":method", "delete"), "400 lower-case-method"));

    private static Object[] h2(String name, List<String[]> fields, String expected) {
        return new Object[] {name, fields, expected};
    }

    private static List<String[]> fields(String... extra) {
        return RawH2.get("https", "/", HOST, extra);
    }

    private static List<String[]> add(List<String[]> f, String name, String value) {
        f.add(new String[] {name, value});
        return f;
    }

    private static List<String[]> set(List<String[]> f, String name, String value) {
        f.replaceAll(x -> x[0].equals(name) ? new String[] {name, value} : x);
        return f;
    }

    private static List<String[]> drop(List<String[]> f, String name) {
        f.removeIf(x -> x[0].equals(name));
        return f;
    }

    private static List<String[]> move(List<String[]> f, int from, int to) {
        f.add(to, f.remove(from));
        return f;
    }

    static Stream<Arguments> http2() {
        List<Arguments> out = new ArrayList<>();
        for (Object[] r : HTTP2) {
            for (Listener l : Listener.values()) {
                out.add(Arguments.of(r[0], l, r[1], r[2]));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("http2")
    void http2RowIsRefusedAndTheConnectionServesTheNextStream(String name, Listener listener, List<String[]> fields,
            String expected) throws Exception {
        int asked = fed.asked.size();
        List<String[]> sent = new ArrayList<>(fields);
        sent.add(listener == Listener.EGRESS ? new String[] {"authorization", "Bearer checkout"}
                : new String[] {"x-isthmus-caller", Federation.CHECKOUT});
        Federation.Cluster a = fed.cluster("a");
        try (RawH2 h2 = listener == Listener.EGRESS ? RawH2.h2c(a.egress.address())
                : RawH2.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway))) {
            RawH2.Result r = h2.send(sent);
            String outcome = r.status() > 0 ? r.status() + " " + r.reason() : r.resetCode() >= 0 ? "reset " + r.resetCode()
                    : "goaway " + r.goAwayCode();
            assertThat(outcome).as("%s", r).isEqualTo(expected);
            assertThat(fed.asked).as("policy was never asked").hasSize(asked);
            // A stream error ends the stream, not the connection: the next stream on it is served.
            List<String[]> good = fields();
            good.add(sent.get(sent.size() - 1));
            assertThat(h2.send(good).status()).isEqualTo(200);
        }
        if (expected.startsWith("400")) {
            assertThat(refused(listener, expected.substring(4))).isGreaterThanOrEqualTo(1);
        }
        bystandersAreServed();
    }

    private RawHttp open(Listener listener) throws Exception {
        Federation.Cluster a = fed.cluster("a");
        return listener == Listener.EGRESS ? RawHttp.plain(a.egress.address())
                : RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway));
    }

    private static String identity(Listener listener) {
        return listener == Listener.EGRESS ? "Authorization: Bearer checkout" : "x-isthmus-caller: " + Federation.CHECKOUT;
    }

    private double refused(Listener listener, String reason) {
        Federation.Cluster c = fed.cluster(listener == Listener.EGRESS ? "a" : "b");
        return c.counter("isthmus_requests_refused_total", "listener", listener.name().toLowerCase(java.util.Locale.ROOT),
                "reason", reason);
    }

    /** The connections opened before the table still work: nobody else was affected. */
    private void bystandersAreServed() throws Exception {
        assertThat(egressBystander.exchange(RawHttp.get("/", HOST, identity(Listener.EGRESS))).status()).isEqualTo(200);
        assertThat(ingressBystander.exchange(RawHttp.get("/", HOST, identity(Listener.INGRESS))).status())
                .isEqualTo(200);
    }
}
