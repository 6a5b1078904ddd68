package io.isthmus.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;

/** {@link UpgradeOffer#passedOn}: what an Upgrade request asks the next hop for; HTTP versions never pass. */
class UpgradeOfferTest {

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("WebSocket", List.of("connection: Upgrade", "upgrade: websocket"), "websocket"),
                Arguments.of("h2c after websocket is dropped", List.of("connection: Upgrade",
                        "upgrade: websocket, h2c"), "websocket"),
                Arguments.of("h2c first, in upper case", List.of("connection: keep-alive, Upgrade",
                        "upgrade: H2C , WebSocket"), "WebSocket"),
                Arguments.of("h2c alone: no upgrade", List.of("connection: Upgrade", "upgrade: h2c"), null),
                Arguments.of("h2c with empty items: no upgrade", List.of("connection: Upgrade", "upgrade: h2c , ,"),
                        null),
                Arguments.of("h2 (TLS only, never an Upgrade)", List.of("connection: Upgrade", "upgrade: h2, websocket"),
                        "websocket"),
                Arguments.of("an HTTP version (RFC 9110's own example)", List.of("connection: Upgrade",
                        "upgrade: HTTP/2.0, SHTTP/1.3, IRC/6.9, RTA/x11"), "SHTTP/1.3, IRC/6.9, RTA/x11"),
                Arguments.of("two Upgrade headers", List.of("connection: Upgrade", "upgrade: h2c",
                        "upgrade: websocket"), "websocket"),
                Arguments.of("Upgrade without Connection: upgrade is no upgrade", List.of("upgrade: websocket"), null),
                Arguments.of("Connection: upgrade without Upgrade", List.of("connection: upgrade"), null),
                Arguments.of("blank Upgrade", List.of("connection: upgrade", "upgrade:  "), null),
                Arguments.of("a protocol merely starting with h2c", List.of("connection: upgrade",
                        "upgrade: h2cx"), "h2cx"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void passesOnAllButHttpVersions(String row, List<String> in, String passedOn) {
        HttpHeaders h = new DefaultHttpHeaders(false);
        for (String line : in) {
            int colon = line.indexOf(':');
            h.add(line.substring(0, colon), line.substring(colon + 1).trim());
        }
        assertThat(UpgradeOffer.passedOn(h)).isEqualTo(passedOn);
    }
}
