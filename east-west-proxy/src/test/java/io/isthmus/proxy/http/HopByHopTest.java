package io.isthmus.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * {@link HopByHop#strip}: what the next hop must not see (RFC 9110 section 7.6.1): the fixed hop-by-hop headers,
 * and every header the Connection header names, however it is written.
 */
class HopByHopTest {

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("no Connection header: the fixed ones go, the rest stay",
                        List.of("keep-alive: timeout=5", "te: trailers", "trailer: x-sum", "transfer-encoding: chunked",
                                "upgrade: h2c", "proxy-connection: keep-alive", "proxy-authorization: Basic eA==",
                                "proxy-authenticate: Basic", "accept: */*", "x-request-id: 7"),
                        List.of("accept", "x-request-id")),
                Arguments.of("Connection names a header: both go",
                        List.of("connection: close, x-secret", "x-secret: s", "accept: */*"), List.of("accept")),
                Arguments.of("two Connection headers, odd spacing and empty items",
                        List.of("connection: x-a", "connection: ,  X-B ,, ", "x-a: 1", "x-b: 2", "x-c: 3"),
                        List.of("x-c")),
                Arguments.of("Connection naming nothing present",
                        List.of("connection: x-absent", "accept: */*"), List.of("accept")),
                Arguments.of("nothing hop-by-hop", List.of("accept: */*"), List.of("accept")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void stripsWhatTheNextHopMustNotSee(String row, List<String> in, List<String> kept) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (String line : in) {
            int colon = line.indexOf(':');
            h.add(line.substring(0, colon), line.substring(colon + 1).trim());
        }
        HopByHop.strip(h);
        assertThat(h.names()).map(n -> n.toLowerCase(java.util.Locale.ROOT))
                .containsExactlyInAnyOrderElementsOf(kept);
    }
}
