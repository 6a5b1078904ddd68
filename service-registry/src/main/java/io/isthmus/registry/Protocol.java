package io.isthmus.registry;

import java.util.Locale;

/** What a service port speaks, as declared by its exporter (Kubernetes {@code appProtocol} or port name). */
public enum Protocol {
    HTTP, HTTP2, GRPC, TCP;

    /** Parses {@code http}, {@code http2}, {@code h2c}, {@code grpc}, {@code tcp} (case-insensitive). */
    public static Protocol parse(String text) {
        return switch (text == null ? "" : text.toLowerCase(Locale.ROOT)) {
            case "http", "http1", "http/1.1" -> HTTP;
            case "http2", "h2c", "h2", "kubernetes.io/h2c" -> HTTP2;
            case "grpc" -> GRPC;
            case "tcp" -> TCP;
            default -> throw new IllegalArgumentException("unknown protocol '" + text + "'; use http, http2, grpc or tcp");
        };
    }

    public boolean isHttp() {
        return this != TCP;
    }
}
