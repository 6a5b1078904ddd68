package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * What {@link Exchange#forward} writes upstream for a request that arrived whole (an HTTP/2 HEADERS frame with
 * END_STREAM, or one with its DATA), and that it never reads the request after releasing it: a released pooled buffer
 * belongs to the next request that gets it, so reading it would send (or try to send) someone else's bytes.
 */
class ForwardTest {
    /** A whole request that notes every look at its body after it was released. */
    static final class WatchedRequest extends DefaultFullHttpRequest {
        final List<String> lateReads = new ArrayList<>();

        WatchedRequest(HttpMethod method, ByteBuf body) {
            super(HttpVersion.HTTP_1_1, method, "/", body);
        }

        @Override
        public ByteBuf content() {
            if (refCnt() == 0) {
                lateReads.add("content() after release");
            }
            return super.content();
        }
    }

    /** The caller's side: every request is forwarded, as it is, to {@code upstream}. */
    static final class ForwardingHandler extends DownstreamHandler {
        final EmbeddedChannel upstream;

        ForwardingHandler(EmbeddedChannel upstream) {
            super(new ProxyMetrics(new SimpleMeterRegistry()), Telemetry.none(), "test",
                    new HeaderDeadline(1_000_000_000L));
            this.upstream = upstream;
        }

        @Override
        protected Exchange newExchange(Downstream caller, HttpRequest head, long startNanos) {
            return new Exchange(this, caller, head, startNanos, ProxySettings.defaults()) {
                @Override
                protected void decide() {
                    forward(UpstreamEnd.of(upstream), (up, reusable) -> {
                    });
                }

                @Override
                protected boolean retry(RetryPolicy.Failure failure, String why) {
                    return false;
                }

                @Override
                protected RequestLabels labels(ClusterDirectory directory, int code) {
                    return directory.egress(Optional.empty(), Optional.empty(), Optional.empty(), code);
                }
            };
        }
    }

    private static List<Object> forward(FullHttpRequest request) {
        EmbeddedChannel upstream = new EmbeddedChannel();
        upstream.pipeline().addLast(UpstreamEnd.NAME, new UpstreamEnd());
        EmbeddedChannel caller = new EmbeddedChannel(new ForwardingHandler(upstream));
        caller.writeInbound(request);
        List<Object> written = new ArrayList<>();
        for (Object m = upstream.readOutbound(); m != null; m = upstream.readOutbound()) {
            written.add(m);
        }
        return written;
    }

    @Test
    void aWholeRequestWithoutBodyGoesAsOneMessageAndIsNotReadAfterItsRelease() {
        WatchedRequest request = new WatchedRequest(HttpMethod.GET, Unpooled.buffer(0));

        List<Object> written = forward(request);

        assertThat(written).hasSize(1);
        assertThat(written.get(0)).isInstanceOf(FullHttpRequest.class);
        assertThat(request.refCnt()).as("released once forwarded").isZero();
        assertThat(request.lateReads).isEmpty();
        written.forEach(ReferenceCountUtil::release);
    }

    @Test
    void aWholeRequestWithBodyGoesAsItsHeadThenItsBody() {
        WatchedRequest request = new WatchedRequest(HttpMethod.POST,
                Unpooled.copiedBuffer("abc", StandardCharsets.US_ASCII));

        List<Object> written = forward(request);

        assertThat(written).hasSize(2);
        assertThat(written.get(0)).isInstanceOf(HttpRequest.class).isNotInstanceOf(FullHttpRequest.class);
        assertThat(written.get(1)).isInstanceOf(LastHttpContent.class);
        assertThat(((HttpContent) written.get(1)).content().toString(StandardCharsets.US_ASCII)).isEqualTo("abc");
        assertThat(request.lateReads).isEmpty();
        written.forEach(ReferenceCountUtil::release);
    }
}
