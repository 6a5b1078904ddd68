package io.isthmus.proxy.exchange;

import java.util.Set;

/**
 * Whether a request whose upstream attempt failed may be sent again (to the next cluster, or on a new connection to
 * the same backend). A pure function: no I/O, thread-safe.
 *
 * <p>The rule is RFC 9110 section 9.2.2 and RFC 9113 section 8.7, as a proxy must read them:
 * <ul>
 * <li>Only what the gateway still holds whole can go out again: a request whose body was streamed on is gone.</li>
 * <li>Nothing reached the upstream (the connect or TLS handshake failed, the peer is not the expected gateway, or
 * the peer refused the stream unprocessed: {@code REFUSED_STREAM}, or a GOAWAY that did not cover it): any request
 * may be retried, it cannot have had an effect.</li>
 * <li>The request was sent and the connection or stream then broke before any response byte: only an idempotent
 * method whose whole request the gateway still holds (no body, so nothing was consumed) may be retried.</li>
 * <li>Never once a response has begun, never after a timeout (the upstream may still be working on it), never for a
 * protocol switch (Upgrade, CONNECT) that was sent.</li>
 * </ul>
 */
public final class RetryPolicy {
    /** RFC 9110 section 9.2.2. */
    private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");

    /** How an attempt failed. */
    public enum Failure {
        /** TCP connect, TLS handshake, or name resolution failed: nothing was sent. */
        CONNECT_FAILED(false),
        /** The connection verified, but its peer is not the gateway the request may go to: nothing was sent. */
        WRONG_PEER(false),
        /** The peer refused the stream without processing it (REFUSED_STREAM, or its TLS refused our certificate). */
        REFUSED_UNPROCESSED(false),
        /**
         * The peer's connection is going away (a GOAWAY whose last stream is below ours: a peer draining connections
         * after a trust change, or stopping) and did not process the stream. The peer itself may take it on a new
         * connection.
         */
        GOAWAY_UNPROCESSED(false),
        /** The request head could not be written: nothing was sent. */
        NOT_WRITTEN(false),
        /** The connection or stream closed or broke after the request went out. */
        CONNECTION_LOST(true),
        /**
         * As {@link #CONNECTION_LOST}, on a connection that was draining (either side sent GOAWAY: a trust change, or
         * a peer stopping). The peer itself is not known to be down: a retry may go to it again on a new connection.
         */
        DRAINED(true),
        /** The upstream reset the stream after the request went out (any code but REFUSED_STREAM). */
        RESET(true),
        /** The upstream stayed silent for the request timeout, or the caller's deadline passed. */
        TIMEOUT(true);

        private final boolean mayHaveBeenProcessed;

        Failure(boolean mayHaveBeenProcessed) {
            this.mayHaveBeenProcessed = mayHaveBeenProcessed;
        }
    }

    /**
     * What the gateway knows about the request when an attempt fails.
     *
     * @param method          the request method
     * @param replayable      the gateway still holds the whole request (head, and no body was consumed)
     * @param protocolSwitch  an Upgrade or CONNECT request
     * @param responseStarted a response head was already passed to the caller
     */
    public record Progress(String method, boolean replayable, boolean protocolSwitch, boolean responseStarted) {
    }

    /** The verdict: whether to try again, and why (for the log and the 502 detail). */
    public sealed interface Verdict {
        String reason();

        record Retry(String reason) implements Verdict {
        }

        record Final(String reason) implements Verdict {
        }
    }

    private RetryPolicy() {
    }

    public static Verdict decide(Progress progress, Failure failure) {
        if (progress.responseStarted()) {
            return new Verdict.Final("the response had already begun");
        }
        if (!progress.replayable()) {
            return new Verdict.Final("the request body was already streamed and is gone");
        }
        if (!failure.mayHaveBeenProcessed) {
            return new Verdict.Retry("nothing was processed upstream (" + label(failure) + ")");
        }
        if (failure == Failure.TIMEOUT) {
            return new Verdict.Final("the upstream may still be processing a timed-out request");
        }
        if (progress.protocolSwitch()) {
            return new Verdict.Final("a protocol switch that was sent is not repeated");
        }
        if (!IDEMPOTENT.contains(progress.method())) {
            return new Verdict.Final(progress.method() + " is not idempotent and may have been processed");
        }
        return new Verdict.Retry(progress.method() + " is idempotent and the gateway still holds the whole request");
    }

    private static String label(Failure failure) {
        return failure.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
