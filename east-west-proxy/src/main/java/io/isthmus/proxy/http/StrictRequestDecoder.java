package io.isthmus.proxy.http;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Netty's HTTP/1 request decoder, made to leave the evidence of ambiguous requests for
 * {@link io.isthmus.proxy.http.validate.RequestValidator}: Netty resolves {@code Content-Length} plus
 * {@code Transfer-Encoding: chunked} by dropping the length, and unfolds obs-fold lines, after which neither can be
 * seen in the headers. Here both headers stay, folded lines are noticed in the bytes of the header section, and header
 * names and values are not validated by Netty (the validator names what is wrong with them). Event loop only; one
 * per connection.
 */
public final class StrictRequestDecoder extends HttpRequestDecoder {
    private boolean inHead = true;
    private boolean started;
    private boolean requestLineDone;
    private boolean lineStart;
    private boolean folded;

    public StrictRequestDecoder(int maxHeaderSize) {
        super(new HttpDecoderConfig().setMaxInitialLineLength(4096).setMaxHeaderSize(maxHeaderSize)
                .setMaxChunkSize(Http1Pipeline.MAX_CHUNK).setHeadersFactory(DefaultHttpHeadersFactory.headersFactory().withValidation(false)));
    }

    /** Whether the request just decoded had a folded header line; asking clears it. */
    public boolean takeObsFold() {
        boolean f = folded;
        folded = false;
        return f;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        int from = buffer.readerIndex();
        int before = out.size();
        super.decode(ctx, buffer, out);
        if (inHead) {
            scanHead(buffer, from, buffer.readerIndex());
        }
        for (int i = before; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpRequest) {
                inHead = false;
            }
            if (o instanceof LastHttpContent) {
                inHead = true;
                started = false;
                requestLineDone = false;
                lineStart = false;
            }
        }
    }

    /** The bytes the decoder consumed of a request's head, each seen once: a header line starting with SP or HT is a fold. */
    private void scanHead(ByteBuf buffer, int from, int to) {
        for (int i = from; i < to; i++) {
            byte b = buffer.getByte(i);
            if (!started) {
                if (b <= ' ') {
                    continue;
                }
                started = true;
                folded = false;
            }
            if (lineStart && requestLineDone && (b == ' ' || b == '\t')) {
                folded = true;
            }
            if (b == '\n') {
                requestLineDone = true;
                lineStart = true;
            } else {
                lineStart = false;
            }
        }
    }

    /** Keeps {@code Content-Length} next to {@code Transfer-Encoding}, so the request is refused, not reinterpreted. */
    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    }
}
