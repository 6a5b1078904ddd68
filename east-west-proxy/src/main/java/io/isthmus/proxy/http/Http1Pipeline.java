package io.isthmus.proxy.http;

import io.netty.channel.ChannelPipeline;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * The HTTP/1.1 server handlers both listeners run behind TLS, by name: {@code bytes} (header deadline's byte watch),
 * {@code http} (strict decoder, response encoder), {@code validate} (ambiguous requests refused), {@code deadline}
 * and {@code aggregate}. HTTP/2 and tunnels remove them by these names.
 */
public final class Http1Pipeline {
    /** The names, in pipeline order. */
    public static final java.util.List<String> NAMES = java.util.List.of("bytes", "http", "validate", "deadline",
            "aggregate");

    private Http1Pipeline() {
    }

    /** Appends the handlers to {@code pipeline}; the request handler goes after them. */
    public static void addLast(ChannelPipeline pipeline, HeaderDeadline deadline, int maxHeaderSize, int maxBodySize) {
        StrictRequestDecoder decoder = new StrictRequestDecoder(maxHeaderSize);
        // Not HttpServerCodec: its decoder cannot be made strict. Every response the gateway writes is a full
        // message with its length, so the plain encoder needs none of the HEAD bookkeeping that codec adds.
        pipeline.addLast("bytes", new HeaderDeadline.ByteWatch(deadline))
                .addLast("http", new CombinedChannelDuplexHandler<>(decoder, new HttpResponseEncoder()))
                .addLast("validate", new RequestValidation(decoder))
                .addLast("deadline", deadline)
                .addLast("aggregate", new HttpObjectAggregator(maxBodySize));
    }
}
