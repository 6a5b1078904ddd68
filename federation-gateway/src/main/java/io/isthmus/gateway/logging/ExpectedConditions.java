package io.isthmus.gateway.logging;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.logging.Filter;
import java.util.logging.LogRecord;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.quarkus.logging.LoggingFilter;

/**
 * Rewrites what libraries log as an ERROR for a condition that is expected in a federation: JGroups' RELAY2 logs
 * {@code JGRP000290 ... no route ... to SiteMaster(<site>): dropping message} for every message it cannot yet route
 * to a site whose bridge is not connected, which is every peer that is not up yet on a normal start. That becomes one
 * WARN naming the peer and what to do; cross-site replication retries on its own once the bridge connects. Quarkus'
 * own log cleanup filters cannot do this: they never touch ERROR records.
 *
 * <p>Also Vert.x 4.5's start-up race on a plain-HTTP port (the management port, where probes poll {@code /q/health}
 * while the gateway starts): {@code TCPServerBase.listen} binds the socket inside the callback of an already
 * completed future, before it has stored that future in the field its connection handler reads, so a connection
 * accepted in that instant fails with a {@code NullPointerException} on {@code sslChannelProvider} and is closed.
 * Netty logs a WARN with a stack trace; the client's next attempt is served. That becomes one INFO line naming the
 * port, without a stack trace.
 *
 * <p>HTTP/2, where a caller can make Netty log at will: the INFO line Netty writes for every frame of a stream it
 * has reset is dropped ({@link #isIgnoredFrame}), and the INFO Netty writes when it closes a connection whose client
 * does not read its control-frame answers keeps its one line (naming the connection) without the stack trace; such
 * connections are counted in {@code isthmus_requests_refused_total{reason="http2-enhance-your-calm"}}.
 *
 * <p>A replica the others cannot reach (a partition inside the cluster, or a replica that hung without leaving):
 * Infinispan logs every replicated write that timed out waiting for it, or failed because it was suspected, as an ERROR
 * with a stack trace ({@code ISPN000136}), and the caller (the registry heartbeat, the JWT key refresh, an enrolment
 * call) logs its own WARN or answers 503. That becomes one WARN per cache and replica per
 * {@link #UNREACHED_REPLICA_EVERY_SECONDS} seconds, naming both and saying how many were left out, without the stack
 * trace ({@link #unreachedReplica}). Any other failure of a command keeps its ERROR. Infinispan's ERROR on each cache
 * that enters degraded mode on the minority side of such a partition ({@code ISPN000318}) becomes a WARN: the gateway's
 * own WARN for the caches it watches says what it means and what to do.
 *
 * <p>The registry's TLS transports (bridge and local cluster) log {@code JGRP000034 ... failure sending message to
 * <address>: javax.net.ssl.SSLHandshakeException ...} as an ERROR when the other end closes a handshake: a peer's
 * bridge that is still starting does so on a normal start of a federation. That becomes a WARN naming the address and
 * what to check; JGroups sends again on its own. Any other send failure keeps its ERROR. Everything else passes
 * unchanged.
 */
@LoggingFilter(name = "isthmus-expected-conditions")
public final class ExpectedConditions implements Filter {
    static final String RELAY2 = "org.jgroups.protocols.relay.RELAY2";
    private static final Pattern NO_ROUTE = Pattern.compile("JGRP000290: .*SiteMaster\\(([^)]+)\\)");
    static final String CHANNEL_INITIALIZER = "io.netty.channel.ChannelInitializer";
    private static final String VERTX_TCP_SERVER = "io.vertx.core.net.impl.TCPServerBase";
    private static final Pattern LOCAL_ADDRESS = Pattern.compile("L:(\\S+)");
    static final String H2_DECODER = "io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder";
    static final String H2_CONTROL_FRAME_LIMIT = "io.netty.handler.codec.http2.Http2ControlFrameLimitEncoder";
    static final String INFINISPAN_COMMANDS = "org.infinispan.interceptors.impl.InvocationContextInterceptor";
    static final long UNREACHED_REPLICA_EVERY_SECONDS = 60;
    static final String INFINISPAN_CLUSTER = "org.infinispan.CLUSTER";
    /** The registry's TLS transports, which log as JGroups' TCP does under their own class names. */
    static final Set<String> REGISTRY_TRANSPORTS = Set.of("io.isthmus.registry.xsite.BridgeTcp",
            "io.isthmus.registry.xsite.TlsTcp");
    private static final Pattern HANDSHAKE_FAILED = Pattern.compile(
            "^JGRP000034: .*failure sending message to (\\S+): javax\\.net\\.ssl\\.SSLHandshakeException");
    private static final Pattern CACHE = Pattern.compile("Cache '([^']+)'");
    /** ISPN000476 (a timeout) and ISPN000400 (a suspected member), as Infinispan 16.0 words them. */
    private static final Pattern UNREACHED = Pattern.compile("^ISPN000476: Timed out waiting for responses for request "
            + "\\d+ from (\\S+) after |^ISPN000400: Node (\\S+) was suspected");

    private final LongSupplier nanos;
    /** Per "cache replica": when its WARN was last written, and how many were left out since. */
    private final Map<String, long[]> unreached = new ConcurrentHashMap<>();

    public ExpectedConditions() {
        this(System::nanoTime);
    }

    ExpectedConditions(LongSupplier nanos) {
        this.nanos = nanos;
    }

    @Override
    public boolean isLoggable(LogRecord record) {
        String message = record.getMessage();
        Matcher handshake = message != null && REGISTRY_TRANSPORTS.contains(record.getLoggerName())
                ? HANDSHAKE_FAILED.matcher(message) : null;
        if (RELAY2.equals(record.getLoggerName()) && message != null && message.startsWith("JGRP000290")) {
            Matcher m = NO_ROUTE.matcher(message);
            String site = m.find() ? m.group(1) : "a peer site";
            replace(record, org.jboss.logmanager.Level.WARN, rewrite(site));
        } else if (isIgnoredFrame(record.getLoggerName(), message)) {
            return false;
        } else if (INFINISPAN_COMMANDS.equals(record.getLoggerName()) && message != null
                && message.startsWith("ISPN000136")) {
            return unreachedReplica(record);
        } else if (handshake != null && handshake.find()) {
            replace(record, org.jboss.logmanager.Level.WARN, handshakeFailed(handshake.group(1), message));
        } else if (INFINISPAN_CLUSTER.equals(record.getLoggerName()) && message != null
                && message.contains("ISPN000318: ")) {
            record.setLevel(org.jboss.logmanager.Level.WARN);
        } else if (H2_CONTROL_FRAME_LIMIT.equals(record.getLoggerName())) {
            record.setThrown(null);
        } else if (CHANNEL_INITIALIZER.equals(record.getLoggerName()) && isVertxBindRace(record.getThrown())) {
            Matcher m = message == null ? null : LOCAL_ADDRESS.matcher(message);
            String port = m != null && m.find() ? m.group(1) : "an HTTP port";
            replace(record, org.jboss.logmanager.Level.INFO, bindRace(port));
            record.setThrown(null);
        }
        return true;
    }

    /** {@code record} says {@code message} at {@code level} instead (a finished text: no parameters left). */
    private static void replace(LogRecord record, java.util.logging.Level level, String message) {
        record.setLevel(level);
        record.setParameters(null);
        record.setMessage(message);
    }

    /**
     * Netty's HTTP/2 decoder logs at INFO every HEADERS or DATA frame that arrives on a stream it has reset
     * ({@code ignoring DATA frame for stream RST_STREAM sent.}): normal whenever a caller cancels a request whose
     * response is under way, and one line per frame, so a caller that resets many streams (the Rapid Reset pattern at
     * an egress: each reset cancels the upstream stream) wrote as many lines as the peer sent frames. Dropped.
     */
    static boolean isIgnoredFrame(String logger, String message) {
        return H2_DECODER.equals(logger) && message != null && message.contains(" ignoring ")
                && message.contains(" frame for stream ");
    }

    /** Only the race itself: a NullPointerException on that field, thrown by Vert.x's server base, nothing else. */
    static boolean isVertxBindRace(Throwable thrown) {
        if (!(thrown instanceof NullPointerException) || thrown.getMessage() == null
                || !thrown.getMessage().contains("sslChannelProvider")) {
            return false;
        }
        StackTraceElement[] frames = thrown.getStackTrace();
        return frames.length > 0 && frames[0].getClassName().startsWith(VERTX_TCP_SERVER);
    }

    /**
     * ISPN000136 for a write that failed only because a replica did not answer: the first for its cache and replica
     * in {@link #UNREACHED_REPLICA_EVERY_SECONDS} becomes a WARN without the stack trace, the others are left out.
     */
    private boolean unreachedReplica(LogRecord record) {
        String replica = unreachedReplica(record.getThrown());
        if (replica == null) {
            return true;
        }
        Object[] parameters = record.getParameters();
        Matcher m = CACHE.matcher(parameters != null && parameters.length > 1 ? String.valueOf(parameters[1])
                : record.getMessage());
        String cache = m.find() ? m.group(1) : "a replicated cache";
        long now = nanos.getAsLong();
        long[] seen = unreached.computeIfAbsent(cache + " " + replica, k -> new long[] {now, -1});
        long leftOut;
        synchronized (seen) {
            if (seen[1] >= 0 && now - seen[0] < TimeUnit.SECONDS.toNanos(UNREACHED_REPLICA_EVERY_SECONDS)) {
                seen[1]++;
                return false;
            }
            leftOut = Math.max(0, seen[1]);
            seen[0] = now;
            seen[1] = 0;
        }
        replace(record, org.jboss.logmanager.Level.WARN, unreachedReplica(cache, replica, leftOut));
        record.setThrown(null);
        return true;
    }

    /**
     * The replica a failed command waited for, if that is why it failed: its cause chain holds Infinispan's timeout
     * (ISPN000476) or suspicion (ISPN000400) naming it; null for any other failure.
     */
    static String unreachedReplica(Throwable thrown) {
        for (Throwable t = thrown; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String name = t.getClass().getName();
            if ((name.equals("org.infinispan.commons.TimeoutException")
                    || name.equals("org.infinispan.remoting.transport.jgroups.SuspectException"))
                    && t.getMessage() != null) {
                Matcher m = UNREACHED.matcher(t.getMessage());
                if (m.find()) {
                    return m.group(1) != null ? m.group(1) : m.group(2);
                }
            }
        }
        return null;
    }

    /** The WARN for writes to {@code cache} that a replica did not answer. */
    static String unreachedReplica(String cache, String replica, long leftOut) {
        return "replicated write to " + cache + " failed: replica " + replica + " did not answer (a partition inside the"
                + " cluster, or a replica that stopped without leaving); what the write was for says what it means."
                + " If this lasts, check that " + replica + " is up and reachable on its JGroups port, or restart it"
                + (leftOut > 0 ? " (" + leftOut + " more such writes in the last " + UNREACHED_REPLICA_EVERY_SECONDS
                        + " s not logged)" : "");
    }

    /** The WARN for a registry message whose TLS handshake the other end closed; {@code original} is JGroups' line. */
    static String handshakeFailed(String address, String original) {
        return "registry: a TLS handshake with " + address + " failed (a peer's bridge or a replica that is still "
                + "starting closes it); JGroups sends again. If this lasts, check that the gateway at " + address
                + " is up and trusts this cluster's bundle (isthmus check). " + original;
    }

    /** The INFO line for a connection closed by the bind race. */
    static String bindRace(String port) {
        return "a connection to " + port + " arrived in the instant the port was opening and was closed (Vert.x "
                + "start-up race); the client's next attempt is served";
    }

    /** The WARN for a site the registry cannot reach yet. */
    static String rewrite(String site) {
        return "registry: no cross-site route to " + site + " yet (its bridge is not connected); replication to it "
                + "resumes once it is. If this lasts, check that " + site + "'s gateway is up and its bridge address "
                + "reachable (isthmus check, bridge line)";
    }
}
