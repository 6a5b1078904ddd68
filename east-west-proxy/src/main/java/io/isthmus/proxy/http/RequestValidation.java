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
 * answers with the refusal's status and code; on an HTTP/1 connection nothing after it is read as a request (the
 * handler closes the connection once it answered). Event loop only; one per connection or HTTP/2 stream.
 */
public final class RequestValidation extends ChannelInboundHandlerAdapter {
    private final StrictRequestDecoder decoder;
    private boolean refused;

    /** @param decoder the connection's HTTP/1 decoder, or null on an HTTP/2 stream */
    public RequestValidation(StrictRequestDecoder decoder) {
        this.decoder = decoder;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest r && r.decoderResult().isSuccess()) {
            RequestVerdict verdict = RequestValidator.check(new RequestHead(r.method().name(), r.uri(),
                    r.protocolVersion().text(), r.headers(), decoder != null && decoder.takeObsFold(), decoder == null));
            if (verdict instanceof RequestVerdict.Invalid invalid) {
                r.setDecoderResult(DecoderResult.failure(new InvalidRequestException(invalid)));
                refused = decoder != null;
            }
        }
        ctx.fireChannelRead(msg);
    }
}
