package io.isthmus.proxy.http;

import io.netty.channel.ChannelPipeline;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * The HTTP/1.1 server handlers both listeners run behind TLS, by name: {@code bytes} (header deadline's byte watch),
 * {@code http} (strict decoder, response encoder), {@code validate} (ambiguous requests refused) and {@code deadline}.
 * Nothing aggregates: the request handler gets the head, then the body in parts as they arrive. HTTP/2 and protocol
 * switches remove them by these names.
 */
public final class Http1Pipeline {
    /** The names, in pipeline order. */
    public static final java.util.List<String> NAMES = java.util.List.of("bytes", "http", "validate", "deadline");

    /** The largest body part an HTTP/1.1 decoder hands on at once (fewer, larger parts move bulk faster). */
    public static final int MAX_CHUNK = 64 * 1024;

    private Http1Pipeline() {
    }

    /** Appends the handlers to {@code pipeline}; the request handler goes after them. */
    public static void addLast(ChannelPipeline pipeline, HeaderDeadline deadline, int maxHeaderSize) {
        StrictRequestDecoder decoder = new StrictRequestDecoder(maxHeaderSize);
        // Not HttpServerCodec: its decoder cannot be made strict. The exchange frames every response itself (it knows
        // the request's method), so the plain encoder needs none of the HEAD bookkeeping that codec adds.
        pipeline.addLast("bytes", new HeaderDeadline.ByteWatch(deadline))
                .addLast("http", new CombinedChannelDuplexHandler<>(decoder, new HttpResponseEncoder()))
                .addLast("validate", new RequestValidation(decoder))
                .addLast("deadline", deadline);
    }
}
