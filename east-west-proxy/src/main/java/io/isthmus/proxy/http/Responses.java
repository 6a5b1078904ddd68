package io.isthmus.proxy.http;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Refusals made by the proxy itself: a JSON body {@code {"error":<status text>,"reason":<code>,"detail":<text>}},
 * the code repeated in {@code x-isthmus-reason} so that clients and tests need not parse the body.
 */
public final class Responses {
    private Responses() {
    }

    public static FullHttpResponse error(ByteBufAllocator alloc, HttpResponseStatus status, String reason,
            String detail) {
        String json = "{\"error\":" + quote(status.reasonPhrase()) + ",\"reason\":" + quote(reason) + ",\"detail\":"
                + quote(detail) + "}\n";
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                alloc.buffer(bytes.length).writeBytes(bytes));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length).set(IdentityHeaders.REASON, reason);
        return response;
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
