package io.isthmus.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.metrics.ProxyMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;

class Http2ConnectionErrorsTest {

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("Rapid Reset, MadeYouReset, control-frame flood", Http2Error.ENHANCE_YOUR_CALM.code(),
                        "http2-enhance-your-calm"),
                Arguments.of("CONTINUATION flood, header block too large", Http2Error.PROTOCOL_ERROR.code(),
                        "http2-protocol-error"),
                Arguments.of("a frame too large", Http2Error.FRAME_SIZE_ERROR.code(), "http2-frame-size-error"),
                Arguments.of("flow control broken", Http2Error.FLOW_CONTROL_ERROR.code(), "http2-flow-control-error"),
                Arguments.of("a code HTTP/2 does not define", 0x99L, "http2-error-153"),
                Arguments.of("a graceful GOAWAY (drain, stop): no refusal", Http2Error.NO_ERROR.code(), null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void reasonNamesTheHttp2Error(String name, long code, String expected) {
        assertThat(Http2ConnectionErrors.reason(code)).isEqualTo(expected);
    }

    @Test
    void aConnectionShedWithGoAwayIsCountedOnce() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        EmbeddedChannel connection = new EmbeddedChannel();
        Http2ConnectionErrors errors = new Http2ConnectionErrors("ingress", new ProxyMetrics(registry), connection);
        errors.goAwaySent().onGoAwaySent(7, Http2Error.ENHANCE_YOUR_CALM.code(), Unpooled.EMPTY_BUFFER);
        errors.goAwaySent().onGoAwaySent(5, Http2Error.ENHANCE_YOUR_CALM.code(), Unpooled.EMPTY_BUFFER);
        assertThat(registry.find("isthmus_requests_refused_total").tags("listener", "ingress", "reason",
                "http2-enhance-your-calm").counter().count()).isEqualTo(1);
    }

    @Test
    void aGracefulGoAwayIsNotCounted() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        EmbeddedChannel connection = new EmbeddedChannel();
        new Http2ConnectionErrors("egress", new ProxyMetrics(registry), connection).goAwaySent()
                .onGoAwaySent(Integer.MAX_VALUE, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER);
        assertThat(registry.find("isthmus_requests_refused_total").counters()).isEmpty();
    }

    @Test
    void theCodecsOwnErrorStopsHereAndLeavesTheClosingToTheCodec() {
        EmbeddedChannel connection = new EmbeddedChannel();
        connection.pipeline().addLast(new Http2ConnectionErrors("ingress", new ProxyMetrics(new SimpleMeterRegistry()),
                connection));
        connection.pipeline().fireExceptionCaught(Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM, "rst"));
        connection.checkException(); // it did not reach the end of the pipeline
        assertThat(connection.isOpen()).as("the codec closes it after its GOAWAY").isTrue();
    }

    @Test
    void anyOtherErrorClosesTheConnection() {
        EmbeddedChannel connection = new EmbeddedChannel();
        connection.pipeline().addLast(new Http2ConnectionErrors("egress", new ProxyMetrics(new SimpleMeterRegistry()),
                connection));
        connection.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        connection.checkException();
        assertThat(connection.isOpen()).isFalse();
    }
}
