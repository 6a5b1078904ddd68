package io.isthmus.proxy.telemetry;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One line of the access log: a request answered, or a tunnel that ended, at one listener of this gateway.
 *
 * @param kind        {@code request} or {@code tunnel}
 * @param caller      the authenticated caller's SPIFFE ID, or {@code unauthenticated}
 * @param peerGateway at the ingress, the gateway that vouched for the caller
 * @param path        the path without its query string (it may carry secrets), empty for a tunnel
 * @param protocol    {@code http/1.1}, {@code h2}, {@code grpc} or {@code tcp}
 * @param upstream    where the request went: the peer ingress or local backend, empty when it was refused
 * @param traceId     the W3C trace the request belongs to, when it had or got one
 * @param reason      the refusal code sent in {@code x-isthmus-reason}, empty when it was served
 */
public record AccessLogEntry(Instant time, String kind, RequestLabels labels, String caller,
        Optional<String> peerGateway, Optional<String> method, Optional<String> path, String protocol, long durationMicros,
        long bytesIn, long bytesOut, Optional<String> upstream, Optional<String> traceId, Optional<String> reason) {

    public AccessLogEntry {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(caller, "caller");
        Objects.requireNonNull(peerGateway, "peerGateway");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(upstream, "upstream");
        Objects.requireNonNull(traceId, "traceId");
        Objects.requireNonNull(reason, "reason");
        if (!kind.equals("request") && !kind.equals("tunnel")) {
            throw new IllegalArgumentException("kind '" + kind + "' is not request or tunnel");
        }
        path = Objects.requireNonNull(path, "path").map(AccessLogEntry::withoutQuery);
    }

    private static String withoutQuery(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }
}
