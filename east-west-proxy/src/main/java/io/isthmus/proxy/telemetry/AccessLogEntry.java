package io.isthmus.proxy.telemetry;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One line of the access log: a request answered, a tunnel that ended, or a passthrough connection that ended (or was
 * refused), at one listener of this gateway.
 *
 * @param kind        {@code request}, {@code tunnel} or {@code passthrough} (a connection routed by its server name
 *                    and relayed undecrypted: the gateway saw no request in it)
 * @param caller      the authenticated caller's SPIFFE ID, or {@code unauthenticated}; {@code unknown} for a
 *                    passthrough connection (its TLS ends at the workload: the gateway never sees the certificate)
 * @param peerGateway at the ingress, the gateway that vouched for the caller
 * @param path        the path without its query string (it may carry secrets), empty for a tunnel
 * @param protocol    {@code http/1.1}, {@code h2}, {@code grpc} or {@code tcp}
 * @param upstream    where the request went: the peer ingress or local backend, empty when it was refused
 * @param traceId     the W3C trace the request belongs to, when it had or got one
 * @param reason      the refusal code sent in {@code x-isthmus-reason}, empty when it was served
 * @param serverName  passthrough only: the server name (SNI) the connection was routed by
 * @param decision    passthrough only: {@code relayed}, or why it was not ({@code unreachable}, a refusal code)
 */
public record AccessLogEntry(Instant time, String kind, RequestLabels labels, String caller,
        Optional<String> peerGateway, Optional<String> method, Optional<String> path, String protocol, long durationMicros,
        long bytesIn, long bytesOut, Optional<String> upstream, Optional<String> traceId, Optional<String> reason, Optional<String> serverName,
        Optional<String> decision) {

    /** A request or tunnel line: no server name or passthrough decision. */
    public AccessLogEntry(Instant time, String kind, RequestLabels labels, String caller, Optional<String> peerGateway,
            Optional<String> method, Optional<String> path, String protocol, long durationMicros, long bytesIn,
            long bytesOut, Optional<String> upstream, Optional<String> traceId, Optional<String> reason) {
        this(time, kind, labels, caller, peerGateway, method, path, protocol, durationMicros, bytesIn, bytesOut,
                upstream, traceId, reason, Optional.empty(), Optional.empty());
    }

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
        Objects.requireNonNull(serverName, "serverName");
        Objects.requireNonNull(decision, "decision");
        if (!kind.equals("request") && !kind.equals("tunnel") && !kind.equals("passthrough")) {
            throw new IllegalArgumentException("kind '" + kind + "' is not request, tunnel or passthrough");
        }
        path = Objects.requireNonNull(path, "path").map(AccessLogEntry::withoutQuery);
    }

    private static String withoutQuery(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }
}
