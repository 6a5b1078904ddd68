package io.isthmus.proxy.http;

import io.isthmus.proxy.http.validate.InvalidRequestException;
import io.isthmus.proxy.http.validate.RequestHead;
import io.isthmus.proxy.http.validate.RequestValidator;
import io.isthmus.proxy.http.validate.RequestVerdict;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;

/**
 * Asks {@link RequestValidator} about each request head as soon as it is decoded, before aggregation (which would
 * rewrite the framing headers). A refused request goes on with a failed decoder result, which the request handler
 * answers with the refusal's status and code; nothing after it on the connection is read as a request (the
 * handler closes the connection once it answered). HTTP/1 only: see {@link Http2RequestValidation}. Event loop
 * only; one per connection.
 */
public final class RequestValidation extends ChannelInboundHandlerAdapter {
    private final StrictRequestDecoder decoder;
    private boolean refused;

    /** @param decoder the connection's HTTP/1 decoder (it tells of folded header lines) */
    public RequestValidation(StrictRequestDecoder decoder) {
        this.decoder = java.util.Objects.requireNonNull(decoder, "decoder");
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest r && r.decoderResult().isSuccess()) {
            RequestVerdict verdict = RequestValidator.check(RequestHead.http1(r.method().name(), r.uri(),
                    r.protocolVersion().text(), r.headers(), decoder.takeObsFold()));
            if (verdict instanceof RequestVerdict.Invalid invalid) {
                r.setDecoderResult(DecoderResult.failure(new InvalidRequestException(invalid)));
                refused = true;
            }
        }
        ctx.fireChannelRead(msg);
    }
}
