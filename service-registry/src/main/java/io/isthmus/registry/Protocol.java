package io.isthmus.registry;

import java.util.Locale;

/**
 * What a service port speaks, as declared by its exporter (Kubernetes {@code appProtocol} or port name).
 *
 * <p>{@link #MTLS} is the one declaration that changes who authenticates the caller: the workload behind the port
 * terminates mutual TLS itself, with its own SVID, and authorizes the caller's SPIFFE ID itself. Gateways then route
 * its connections by SNI without decrypting them (passthrough), and the destination gateway's policy never sees
 * them. It is never inferred from a port name: a port is reachable that way only if its exporter says so.
 */
public enum Protocol {
    HTTP, HTTP2, GRPC, TCP, MTLS;

    /** The Kubernetes {@code appProtocol} that declares a passthrough port (a domain-prefixed name, as the API asks). */
    public static final String MTLS_APP_PROTOCOL = "isthmus.io/mtls";

    /**
     * Parses {@code http}, {@code http2}, {@code h2c}, {@code grpc}, {@code tcp}, {@code mtls} or
     * {@code isthmus.io/mtls} (case-insensitive).
     */
    public static Protocol parse(String text) {
        return switch (text == null ? "" : text.toLowerCase(Locale.ROOT)) {
            case "http", "http1", "http/1.1" -> HTTP;
            case "http2", "h2c", "h2", "kubernetes.io/h2c" -> HTTP2;
            case "grpc" -> GRPC;
            case "tcp" -> TCP;
            case "mtls", MTLS_APP_PROTOCOL -> MTLS;
            default -> throw new IllegalArgumentException("unknown protocol '" + text
                    + "'; use http, http2, grpc, tcp or mtls (the workload terminates mutual TLS itself: passthrough)");
        };
    }

    public boolean isHttp() {
        return this == HTTP || this == HTTP2 || this == GRPC;
    }

    /** Whether gateways carry this port's connections end to end, routed by SNI and never decrypted. */
    public boolean isPassthrough() {
        return this == MTLS;
    }
}
