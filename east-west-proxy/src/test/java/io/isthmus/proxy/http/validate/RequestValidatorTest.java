package io.isthmus.proxy.http.validate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The request-head validator, row by row: method, target, version, headers ({@code name: value}), and the verdict
 * ({@code valid} or the refusal's code). Valid rows sit beside the attacks they resemble.
 */
class RequestValidatorTest {
    private static final String H = "Host: payments.billing.svc.clusterset.local";

    static Stream<Arguments> table() {
        return Stream.of(
                row("plain GET", "GET", "/", "HTTP/1.1", "valid", H),
                row("POST with a length", "POST", "/", "HTTP/1.1", "valid", H, "Content-Length: 3"),
                row("POST chunked", "POST", "/", "HTTP/1.1", "valid", H, "Transfer-Encoding: chunked"),
                row("chunked, any case", "POST", "/", "HTTP/1.1", "valid", H, "transfer-encoding: Chunked"),
                row("HTTP/1.0 without Host", "GET", "/", "HTTP/1.0", "valid"),
                row("host with port", "GET", "/", "HTTP/1.1", "valid", "Host: payments.billing:8080"),
                row("IPv6 literal", "GET", "/", "HTTP/1.1", "valid", "Host: [::1]:8080"),
                row("absolute form, same host", "GET", "http://payments.billing/x", "HTTP/1.1", "valid",
                        "Host: payments.billing"),
                row("absolute form, port 80 implied", "GET", "http://payments.billing:80/x", "HTTP/1.1", "valid",
                        "Host: payments.billing"),
                row("absolute form, host case", "GET", "http://Payments.Billing/x", "HTTP/1.1", "valid",
                        "Host: payments.billing"),
                row("CONNECT authority matches Host", "CONNECT", "db.data:5432", "HTTP/1.1", "valid",
                        "Host: db.data:5432"),
                row("obs-text in a value is allowed", "GET", "/", "HTTP/1.1", "valid", H, "X-Name: caf\u00e9"),
                row("HTAB in a value is allowed", "GET", "/", "HTTP/1.1", "valid", H, "X-A: a\tb"),
                row("h2: :authority as Host, host equal", "GET", "/", "HTTP/1.1", "valid", true, H, H),
                // Smuggling: two framings.
                row("CL + TE", "POST", "/", "HTTP/1.1", "content-length-with-transfer-encoding", H,
                        "Content-Length: 3", "Transfer-Encoding: chunked"),
                row("TE + CL", "POST", "/", "HTTP/1.1", "content-length-with-transfer-encoding", H,
                        "Transfer-Encoding: chunked", "Content-Length: 0"),
                row("two different CLs", "POST", "/", "HTTP/1.1", "multiple-content-length", H, "Content-Length: 3",
                        "Content-Length: 4"),
                row("two equal CLs", "POST", "/", "HTTP/1.1", "multiple-content-length", H, "Content-Length: 3",
                        "Content-Length: 3"),
                row("CL list", "POST", "/", "HTTP/1.1", "multiple-content-length", H, "Content-Length: 3, 4"),
                row("CL not a number", "POST", "/", "HTTP/1.1", "invalid-content-length", H, "Content-Length: +3"),
                row("CL hex", "POST", "/", "HTTP/1.1", "invalid-content-length", H, "Content-Length: 0x3"),
                row("CL empty", "POST", "/", "HTTP/1.1", "invalid-content-length", H, "Content-Length: "),
                row("TE last coding not chunked", "POST", "/", "HTTP/1.1", "transfer-encoding-not-chunked", H,
                        "Transfer-Encoding: chunked, identity"),
                row("TE gzip", "POST", "/", "HTTP/1.1", "transfer-encoding-not-chunked", H,
                        "Transfer-Encoding: gzip"),
                row("TE gzip then chunked", "POST", "/", "HTTP/1.1", "transfer-encoding-not-chunked", H,
                        "Transfer-Encoding: gzip, chunked"),
                row("two TE headers", "POST", "/", "HTTP/1.1", "transfer-encoding-not-chunked", H,
                        "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
                row("TE look-alike", "POST", "/", "HTTP/1.1", "transfer-encoding-not-chunked", H,
                        "Transfer-Encoding: xchunked"),
                // Header syntax.
                row("NUL in a value", "GET", "/", "HTTP/1.1", "control-character-in-header", H, "X-A: a\u0000b"),
                row("CR in a value", "GET", "/", "HTTP/1.1", "control-character-in-header", H, "X-A: a\rb"),
                row("DEL in a value", "GET", "/", "HTTP/1.1", "control-character-in-header", H, "X-A: a\u007fb"),
                row("SOH in a value", "GET", "/", "HTTP/1.1", "control-character-in-header", H, "X-A: a\u0001b"),
                row("NUL in a name", "GET", "/", "HTTP/1.1", "invalid-header-name", H, "X\u0000A: b"),
                row("space inside a name", "GET", "/", "HTTP/1.1", "invalid-header-name", H, "X A: b"),
                row("separator in a name", "GET", "/", "HTTP/1.1", "invalid-header-name", H, "X(A): b"),
                row("non-ASCII name", "GET", "/", "HTTP/1.1", "invalid-header-name", H, "X-\u00e9: b"),
                row("whitespace before the colon", "POST", "/", "HTTP/1.1", "whitespace-before-colon", H,
                        "Transfer-Encoding : chunked"),
                // Host.
                row("HTTP/1.1 without Host", "GET", "/", "HTTP/1.1", "missing-host"),
                row("h2 without :authority", "GET", "/", "HTTP/1.1", "missing-host", true),
                row("two Hosts", "GET", "/", "HTTP/1.1", "multiple-host", H, "Host: evil.example"),
                row("two equal Hosts on HTTP/1", "GET", "/", "HTTP/1.1", "multiple-host", H, H),
                row("h2: :authority and host differ", "GET", "/", "HTTP/1.1", "multiple-host", true, H,
                        "Host: evil.example"),
                row("userinfo in Host", "GET", "/", "HTTP/1.1", "userinfo-in-host", "Host: admin@payments.billing"),
                row("empty Host", "GET", "/", "HTTP/1.1", "invalid-host", "Host: "),
                row("space in Host", "GET", "/", "HTTP/1.1", "invalid-host", "Host: payments billing"),
                row("bad port", "GET", "/", "HTTP/1.1", "invalid-host", "Host: payments.billing:99999"),
                row("no port after colon", "GET", "/", "HTTP/1.1", "invalid-host", "Host: payments.billing:"),
                row("slash in Host", "GET", "/", "HTTP/1.1", "invalid-host", "Host: payments.billing/x"),
                row("absolute form, other host", "GET", "http://evil.example/x", "HTTP/1.1", "host-mismatch", H),
                row("absolute form, other port", "GET", "http://payments.billing.svc.clusterset.local:8080/x",
                        "HTTP/1.1", "host-mismatch", H),
                row("absolute form with userinfo", "GET", "http://u@payments.billing.svc.clusterset.local/x",
                        "HTTP/1.1", "userinfo-in-host", H),
                row("CONNECT to another host than Host", "CONNECT", "db.data:5432", "HTTP/1.1", "host-mismatch",
                        "Host: web.data:443"),
                row("neither a path nor a URI", "GET", "admin", "HTTP/1.1", "invalid-request-target", H),
                // Request line.
                row("lower-case method", "delete", "/", "HTTP/1.1", "lower-case-method", H),
                row("mixed-case method", "Post", "/", "HTTP/1.1", "lower-case-method", H),
                row("h2: lower-case :method", "get", "/", "HTTP/1.1", "lower-case-method", true, H),
                row("NUL in the target", "GET", "/a\u0000b", "HTTP/1.1", "invalid-request-target", H),
                row("space in the target (h2 :path)", "GET", "/a b", "HTTP/1.1", "invalid-request-target", true, H),
                row("non-ASCII in the target", "GET", "/\u00ff", "HTTP/1.1", "invalid-request-target", H),
                row("HTTP/2.0 on an HTTP/1 connection", "GET", "/", "HTTP/2.0", "unsupported-http-version", H),
                row("HTTP/1.2", "GET", "/", "HTTP/1.2", "unsupported-http-version", H),
                // HTTP/2 pseudo-headers (what Netty's codec lets through).
                row("h2: no :method", "", "/", "HTTP/2.0", "missing-pseudo-header", true, H),
                row("h2: no :scheme", "GET", "/", "HTTP/2.0", "missing-pseudo-header", true, "scheme=", H),
                row("h2: no :path", "GET", "", "HTTP/2.0", "missing-pseudo-header", true, H),
                row("h2: :scheme ftp", "GET", "/", "HTTP/2.0", "invalid-scheme", true, "scheme=ftp", H),
                row("h2: CONNECT needs neither :scheme nor :path", "CONNECT", "db.data:5432", "HTTP/2.0", "valid", true,
                        "scheme=", "Host: db.data:5432"),
                row("h2: http scheme", "GET", "/", "HTTP/2.0", "valid", true, "scheme=http", H));
    }

    private static Arguments row(String name, String method, String target, String version, String expected,
            Object... rest) {
        boolean http2 = rest.length > 0 && rest[0] instanceof Boolean b && b;
        String scheme = http2 ? "https" : "";
        List<String> headers = new ArrayList<>();
        for (Object o : rest) {
            if (o instanceof String s && s.startsWith("scheme=")) {
                scheme = s.substring("scheme=".length());
            } else if (o instanceof String s) {
                headers.add(s);
            }
        }
        return Arguments.of(name, method, target, version, headers, http2, scheme, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void validates(String name, String method, String target, String version, List<String> headers, boolean http2,
            String scheme, String expected) {
        RequestVerdict v = RequestValidator.check(new RequestHead(method, target, version, entries(headers), false,
                http2, scheme));
        assertThat(v instanceof RequestVerdict.Invalid i ? i.reason().code() : "valid").isEqualTo(expected);
    }

    @Test
    void aFoldedHeaderIsRefusedWhateverTheHeadersSay() {
        RequestVerdict v = RequestValidator.check(RequestHead.http1("GET", "/", "HTTP/1.1", entries(List.of(H)), true));
        assertThat(v).isEqualTo(new RequestVerdict.Invalid(RequestRefusal.OBS_FOLD,
                "a header line continues on the next line (obs-fold); send each header on one line"));
    }

    @Test
    void refusalsQuoteTheInputEscapedAndSayWhatIsExpected() {
        RequestVerdict.Invalid v = (RequestVerdict.Invalid) RequestValidator.check(RequestHead.http1("POST", "/",
                "HTTP/1.1", entries(List.of(H, "Content-Length: 3", "Transfer-Encoding: chunked")), false));
        assertThat(v.detail()).isEqualTo("Content-Length 3 and Transfer-Encoding 'chunked' both frame the body;"
                + " send one");
        RequestVerdict.Invalid ctl = (RequestVerdict.Invalid) RequestValidator.check(RequestHead.http1("GET", "/",
                "HTTP/1.1", entries(List.of(H, "X-A: a\r\nb")), false));
        assertThat(ctl.detail()).isEqualTo("header 'X-A' holds the byte 0x0D at offset 1 of its value");
        assertThat(RequestRefusal.REQUEST_LINE_TOO_LONG.status()).isEqualTo(414);
        assertThat(RequestRefusal.HEADER_TOO_LARGE.status()).isEqualTo(431);
        assertThat(RequestRefusal.OBS_FOLD.status()).isEqualTo(400);
    }

    @Test
    void nettysOwnRefusalsGetNamedReasons() {
        assertThat(DecoderFailures.classify(new IllegalArgumentException("Multiple Content-Length values found: [3, 4]"))
                .reason()).isEqualTo(RequestRefusal.MULTIPLE_CONTENT_LENGTH);
        assertThat(DecoderFailures.classify(new io.netty.handler.codec.http.TooLongHttpLineException("x")).reason())
                .isEqualTo(RequestRefusal.REQUEST_LINE_TOO_LONG);
        assertThat(DecoderFailures.classify(new IllegalArgumentException("something new")).reason())
                .isEqualTo(RequestRefusal.MALFORMED_REQUEST);
        RequestVerdict.Invalid mine = new RequestVerdict.Invalid(RequestRefusal.OBS_FOLD, "x");
        assertThat(DecoderFailures.classify(new InvalidRequestException(mine))).isSameAs(mine);
    }

    private static List<Map.Entry<String, String>> entries(List<String> headers) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        for (String h : headers) {
            int colon = h.indexOf(':');
            out.add(Map.entry(h.substring(0, colon), h.substring(colon + 1).strip()));
        }
        return out;
    }
}
