package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.http.validate.InvalidRequestException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpScheme;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.Http2WindowUpdateFrame;

/**
 * {@link FrameConversion}, which both kinds of HTTP/2 stream use: the streams callers open ({@link H2ServerStream},
 * after {@code Http2RequestValidation} passed their request HEADERS) and those the gateway opens upstream
 * ({@link H2Stream}): frames in, HTTP objects out (and back). Each row names what one frame or message must become.
 * What the server stream itself does around the conversion (padding given back, a refused stream's stand-in, the
 * rest of it dropped) is shown over real sockets in {@link H2ServerStreamTest}.
 */
class FrameConversionTest {

    private static Http2Headers request(String method, String path) {
        return new DefaultHttp2Headers().method(method).path(path).scheme("https")
                .authority("payments.billing.svc.clusterset.local");
    }

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    // ---- what a caller's stream reads ------------------------------------------------------------------------

    static Stream<Arguments> serverReads() {
        return Stream.of(
                Arguments.of("request head, body to follow: a streamed request, chunked",
                        new DefaultHttp2HeadersFrame(request("POST", "/charge"), false),
                        "HttpRequest POST /charge host=payments.billing.svc.clusterset.local chunked"),
                Arguments.of("request head with content-length: not chunked",
                        new DefaultHttp2HeadersFrame(request("POST", "/charge").setInt("content-length", 3), false),
                        "HttpRequest POST /charge host=payments.billing.svc.clusterset.local"),
                Arguments.of("request head ending the stream: a whole request",
                        new DefaultHttp2HeadersFrame(request("GET", "/a?b=c"), true),
                        "FullHttpRequest GET /a?b=c host=payments.billing.svc.clusterset.local"),
                Arguments.of("DATA: content", new DefaultHttp2DataFrame(text("abc"), false), "HttpContent abc"),
                Arguments.of("DATA ending the stream: the last content",
                        new DefaultHttp2DataFrame(text("xyz"), true), "LastHttpContent xyz"),
                Arguments.of("HEADERS without :method or :status ending the stream: trailers",
                        new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().add("grpc-status", "0"), true),
                        "LastHttpContent  trailers=grpc-status:0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serverReads")
    void aCallersStreamReadsFramesAsHttpObjects(String row, Object frame, String expected) throws Exception {
        Object read = frame instanceof Http2DataFrame data ? FrameConversion.fromData(data)
                : FrameConversion.fromHeaders((Http2HeadersFrame) frame, true);
        assertThat(describe(read)).isEqualTo(expected);
        if (read instanceof HttpMessage m) {
            assertThat(m.headers().names()).as("the x-http2-* headers describe this hop only")
                    .noneMatch(n -> n.startsWith("x-http2-"));
        }
        release(read);
    }

    // ---- what a stream the gateway opened reads --------------------------------------------------------------

    static Stream<Arguments> clientReads() {
        return Stream.of(
                Arguments.of("100 Continue: a whole 1xx response",
                        new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("100"), false),
                        "FullHttpResponse 100"),
                Arguments.of("103 Early Hints: a whole 1xx response",
                        new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("103").add("link", "</a>"), false),
                        "FullHttpResponse 103"),
                Arguments.of("200, body to follow: chunked",
                        new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false),
                        "HttpResponse 200 chunked"),
                Arguments.of("204, more frames to follow: never chunked",
                        new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("204"), false),
                        "HttpResponse 204"),
                Arguments.of("200 ending the stream: a whole response",
                        new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), true),
                        "FullHttpResponse 200"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("clientReads")
    void aStreamTheGatewayOpenedReadsResponses(String row, Http2HeadersFrame frame, String expected) throws Exception {
        // Such a stream (an H2Stream) converts with the same function as a stream a caller opened (H2ServerStream).
        Object read = FrameConversion.fromHeaders(frame, false);
        assertThat(describe(read)).isEqualTo(expected);
        assertThat(((HttpMessage) read).headers().names()).noneMatch(n -> n.startsWith("x-http2-"));
        release(read);
    }

    // ---- what either writes ----------------------------------------------------------------------------------

    static Stream<Arguments> writes() {
        return Stream.of(
                Arguments.of("a response head: HEADERS, stream open",
                        new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK),
                        List.of("HEADERS :status=200")),
                Arguments.of("content: DATA, stream open", new DefaultHttpContent(text("ab")), List.of("DATA ab")),
                Arguments.of("an empty last content: an empty DATA that ends the stream",
                        new DefaultLastHttpContent(), List.of("DATA  END")),
                Arguments.of("a last content with trailers: DATA, then the trailers end the stream",
                        trailers(new DefaultLastHttpContent(text("z")), "grpc-status", "0"),
                        List.of("DATA z", "HEADERS grpc-status=0 END")),
                Arguments.of("a last content with only trailers: the trailers alone",
                        trailers(new DefaultLastHttpContent(), "grpc-status", "13"),
                        List.of("HEADERS grpc-status=13 END")),
                Arguments.of("a whole response without a body: one HEADERS that ends the stream",
                        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT),
                        List.of("HEADERS :status=204 END")),
                Arguments.of("a whole response with a body: HEADERS, then DATA that ends the stream",
                        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, text("ok")),
                        List.of("HEADERS :status=200", "DATA ok END")),
                Arguments.of("a whole response with a body and trailers: three frames",
                        trailers(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, text("ok")),
                                "grpc-status", "0"),
                        List.of("HEADERS :status=200", "DATA ok", "HEADERS grpc-status=0 END")),
                Arguments.of("100 Continue: HEADERS that keep the stream open",
                        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE),
                        List.of("HEADERS :status=100")),
                Arguments.of("a whole request (no TLS below: http)",
                        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/q?x=1",
                                Unpooled.buffer(0)),
                        List.of("HEADERS :method=GET :path=/q?x=1 :scheme=http END")));
    }

    private static <T extends LastHttpContent> T trailers(T last, String name, String value) {
        last.trailingHeaders().set(name, value);
        return last;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writes")
    void whatAnExchangeWritesBecomesFrames(String row, HttpObject message, List<String> expected) {
        // A request is written only on a stream the gateway opened, with its connection's :scheme; a response on a
        // stream a caller opened, without.
        Http2StreamFrame[] out = new Http2StreamFrame[3];
        int n = FrameConversion.toFrames(message, message instanceof HttpRequest ? HttpScheme.HTTP : null, out);
        List<String> frames = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            frames.add(describe(out[i]));
            release(out[i]);
        }
        assertThat(frames).isEqualTo(expected);
        assertThat(message instanceof HttpContent c ? c.refCnt() : 0).as("the message was released").isZero();
    }

    @Test
    void a1xxOtherThan101ThatIsNotWholeCannotBeWritten() {
        Http2StreamFrame[] out = new Http2StreamFrame[3];
        assertThatThrownBy(() -> FrameConversion.toFrames(new DefaultHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(103)), null, out)).isInstanceOf(EncoderException.class)
                .hasMessageContaining("103");
        assertThat(out).containsOnlyNulls();
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static String describe(Object o) {
        if (o instanceof Http2HeadersFrame h) {
            StringBuilder b = new StringBuilder("HEADERS");
            List<String> pseudo = new ArrayList<>();
            List<String> regular = new ArrayList<>();
            h.headers().forEach(e -> (e.getKey().charAt(0) == ':' ? pseudo : regular)
                    .add(e.getKey() + "=" + e.getValue()));
            pseudo.stream().sorted().forEach(s -> b.append(' ').append(s));
            regular.stream().filter(s -> !s.startsWith("content-length") && !s.startsWith(":authority"))
                    .sorted().forEach(s -> b.append(' ').append(s));
            return b + (h.isEndStream() ? " END" : "");
        }
        if (o instanceof Http2DataFrame d) {
            return "DATA " + d.content().toString(StandardCharsets.UTF_8) + (d.isEndStream() ? " END" : "");
        }
        if (o instanceof Http2PingFrame) {
            return "Http2PingFrame";
        }
        if (o instanceof HttpRequest r) {
            return (r instanceof FullHttpRequest ? "FullHttpRequest " : "HttpRequest ") + r.method() + " " + r.uri()
                    + " host=" + r.headers().get(HttpHeaderNames.HOST)
                    + (r.headers().contains(HttpHeaderNames.TRANSFER_ENCODING, "chunked", true) ? " chunked" : "");
        }
        if (o instanceof HttpResponse r) {
            return (r instanceof FullHttpResponse ? "FullHttpResponse " : "HttpResponse ") + r.status().code()
                    + (r.headers().contains(HttpHeaderNames.TRANSFER_ENCODING, "chunked", true) ? " chunked" : "");
        }
        if (o instanceof LastHttpContent l) {
            String t = l.trailingHeaders().isEmpty() ? ""
                    : " trailers=" + String.join(",", l.trailingHeaders().entries().stream()
                            .map(e -> e.getKey() + ":" + e.getValue()).toList());
            return "LastHttpContent " + l.content().toString(StandardCharsets.UTF_8) + t;
        }
        if (o instanceof HttpContent c) {
            return "HttpContent " + c.content().toString(StandardCharsets.UTF_8);
        }
        return String.valueOf(o);
    }

    private static void release(Object o) {
        io.netty.util.ReferenceCountUtil.release(o);
    }
}
