package io.isthmus.proxy.passthrough;

import java.time.Instant;
import java.util.Optional;

import io.isthmus.proxy.telemetry.AccessLogEntry;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.isthmus.proxy.telemetry.Telemetry;
import io.netty.channel.Channel;

/**
 * The access-log line of one passthrough connection, on the same log (and writer thread) as the HTTP lines: begun
 * when the router decides, written once, when the relayed connection closes (with the bytes each way) or at once
 * when it is not relayed. The gateway never sees a request or the caller's certificate in it, so the line says what
 * it does see: the server name, where the bytes went, how many, how long, and the decision. Event loop only.
 */
public final class PassthroughAccessLog {
    private final Telemetry telemetry;
    private final String serverName;
    private final int peekedBytes;
    private final Instant opened;
    private final long openedNanos;

    private PassthroughAccessLog(Telemetry telemetry, String serverName, int peekedBytes) {
        this.telemetry = telemetry;
        this.serverName = serverName;
        this.peekedBytes = peekedBytes;
        this.opened = telemetry.clock().instant();
        this.openedNanos = System.nanoTime();
    }

    /**
     * Call when the router has decided (the connection's open time is the decision's).
     *
     * @param serverName  the SNI routed by (null: none)
     * @param peekedBytes the ClientHello bytes the router holds: sent on before the relay counts any
     */
    public static PassthroughAccessLog begin(Telemetry telemetry, String serverName, int peekedBytes) {
        return new PassthroughAccessLog(telemetry, serverName, peekedBytes);
    }

    /** The connection is relayed: its line is written when {@code near} closes, with the relay's byte counts. */
    public void relayed(Channel near, PassthroughRelay.Relayed relayed, RequestLabels labels) {
        near.closeFuture().addListener(f -> write(labels, peekedBytes + relayed.spliced().fromCaller(), relayed.spliced().toCaller(),
                Optional.of(relayed.target().label()), Optional.empty(), "relayed"));
    }

    /** The connection was not relayed ({@code decision}: {@code unreachable}, or a refusal code); written now. */
    public void notRelayed(RequestLabels labels, String decision) {
        write(labels, 0, 0, Optional.empty(), Optional.of(decision), decision);
    }

    private void write(RequestLabels labels, long fromCaller, long toCaller, Optional<String> upstream,
            Optional<String> reason, String decision) {
        telemetry.accessLog().ifPresent(log -> log.record(new AccessLogEntry(opened, "passthrough", labels, "unknown",
                Optional.empty(), Optional.empty(), Optional.empty(), "tls", (System.nanoTime() - openedNanos) / 1000,
                fromCaller, toCaller, upstream, Optional.empty(), reason, Optional.ofNullable(serverName),
                Optional.of(decision))));
    }
}
