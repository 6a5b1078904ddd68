package io.isthmus.trust.endpoint;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** What the bundle endpoint sends back: every answer is also marked {@code Cache-Control: no-store} by the server. */
public record EndpointAnswer(int status, String contentType, Map<String, String> headers, String body) {
    public EndpointAnswer {
        if (status < 100 || status > 599) {
            throw new IllegalArgumentException("HTTP status " + status + ", expected 100 to 599");
        }
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(body, "body");
        headers = Map.copyOf(headers);
    }

    public static EndpointAnswer json(int status, String json) {
        return new EndpointAnswer(status, "application/json", Map.of(), json);
    }

    public EndpointAnswer withHeader(String name, String value) {
        Map<String, String> next = new LinkedHashMap<>(headers);
        next.put(name, value);
        return new EndpointAnswer(status, contentType, next, body);
    }
}
