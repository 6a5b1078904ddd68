package io.isthmus.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;

/** {@link RequestTrailers}: the trailer fields of a request that never reach the next hop, in any spelling. */
class RequestTrailersTest {

    static Stream<Arguments> names() {
        return Stream.of(
                Arguments.of("x-isthmus-caller", false), Arguments.of("X-Isthmus-Caller", false),
                Arguments.of("x-forwarded-client-cert", false), Arguments.of("X-FORWARDED-CLIENT-CERT", false),
                Arguments.of("authorization", false), Arguments.of("Proxy-Authorization", false),
                Arguments.of("content-length", false), Arguments.of("Transfer-Encoding", false),
                Arguments.of("host", false), Arguments.of("connection", false), Arguments.of("te", false),
                Arguments.of("trailer", false), Arguments.of("upgrade", false), Arguments.of("keep-alive", false),
                Arguments.of("proxy-connection", false), Arguments.of("proxy-authenticate", false),
                Arguments.of("HTTP2-Settings", false),
                // what trailers are for
                Arguments.of("x-checksum", true), Arguments.of("grpc-status-details-bin", true),
                Arguments.of("server-timing", true), Arguments.of("digest", true),
                // near misses of the refused names are ordinary fields
                Arguments.of("x-isthmus-caller-hint", true), Arguments.of("x-forwarded-client-certs", true),
                Arguments.of("hosts", true), Arguments.of("x-authorization", true));
    }

    @ParameterizedTest(name = "{0} forwarded: {1}")
    @MethodSource("names")
    void decidesByNameInAnyCase(String name, boolean forwarded) {
        assertThat(RequestTrailers.forwarded(name)).isEqualTo(forwarded);
    }

    @Test
    void stripsEveryValueOfEveryRefusedFieldAndKeepsTheRest() {
        HttpHeaders t = new DefaultHttpHeaders().add("x-checksum", "5eb63bbb")
                .add("X-Forwarded-Client-Cert", "By=x;URI=spiffe://a/admin")
                .add("x-forwarded-client-cert", "By=y;URI=spiffe://a/root").add("x-isthmus-caller", "spiffe://a/admin")
                .add("content-length", "0").add("x-checksum", "second");
        RequestTrailers.strip(t);
        assertThat(t.names()).map(n -> n.toLowerCase(Locale.ROOT)).containsExactly("x-checksum");
        assertThat(t.getAll("x-checksum")).containsExactly("5eb63bbb", "second");
    }

    @Test
    void leavesNoTrailersAlone() {
        RequestTrailers.strip(EmptyHttpHeaders.INSTANCE);
        HttpHeaders none = new DefaultHttpHeaders();
        RequestTrailers.strip(none);
        assertThat(none.isEmpty()).isTrue();
    }
}
