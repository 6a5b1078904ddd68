package io.isthmus.agent;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.trust.concurrent.Workers;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;

/**
 * The running agent: holds the current {@link AgentState}, renews the SVID at half life through the gateway,
 * retries with exponential backoff and jitter while the gateway is unreachable (the current SVID keeps being
 * served until it expires), persists every new state before publishing it, and tells listeners after each swap
 * on the agent's thread (listeners must not block).
 *
 * <p>Between renewals it asks the gateway for its trust ({@link GatewayClient#trust}) as often as the gateway says
 * (or {@code maxTrustRefresh}, if that is sooner): new bundles are published at once (a peer's new CA, a rotation's
 * new intermediate), and when the CA that signed this SVID is no longer the one that signs (a rotation activated a
 * new one and is retiring the old), the SVID is renewed early, after a random delay of up to
 * {@code earlyRenewSpread} (bounded by a quarter of the SVID's remaining life), so that a cluster's VMs do not all
 * come at once. All scheduling happens on one thread.
 */
public final class AgentRuntime implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AgentRuntime.class);

    /**
     * How long a renewal or trust refresh in progress at stop may take to finish before it is interrupted. Shorter
     * than the 2 s used elsewhere: the agent stops several such workers one after the other within the 10 s its
     * shutdown hook waits, and a call to a reachable gateway takes well under a second.
     */
    static final Duration STOP_GRACE = Duration.ofSeconds(1);

    private final AtomicReference<AgentState> state;
    private final StateDir dir;
    private final GatewayClient gateway;
    private final Clock clock;
    private final Backoff backoff;
    private final Optional<Duration> maxTrustRefresh;
    private final Duration earlyRenewSpread;
    private final ScheduledExecutorService scheduler;
    private final List<Consumer<AgentState>> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean closing;
    private int failures;
    private ScheduledFuture<?> nextRenewal;
    private Instant nextRenewalAt;
    private String trustProblem;

    public AgentRuntime(AgentState initial, StateDir dir, GatewayClient gateway, Clock clock, Backoff backoff) {
        this(initial, dir, gateway, clock, backoff, Optional.empty(), Duration.ofSeconds(30));
    }

    /**
     * @param maxTrustRefresh ask the gateway for its trust at least this often (the gateway's own interval applies
     *     otherwise)
     * @param earlyRenewSpread the longest random delay before an early renewal
     */
    public AgentRuntime(AgentState initial, StateDir dir, GatewayClient gateway, Clock clock, Backoff backoff,
            Optional<Duration> maxTrustRefresh, Duration earlyRenewSpread) {
        this.state = new AtomicReference<>(initial);
        this.dir = dir;
        this.gateway = gateway;
        this.clock = clock;
        this.backoff = backoff;
        this.maxTrustRefresh = maxTrustRefresh;
        this.earlyRenewSpread = earlyRenewSpread;
        // A clean stop waits for the call in progress, not for the next renewal or refresh to come due.
        this.scheduler = Workers.scheduler("isthmus-agent-renewal");
    }

    public static Backoff defaultBackoff() {
        return new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(2), () -> ThreadLocalRandom.current().nextDouble());
    }

    public void start() {
        scheduler.execute(() -> scheduleRenewal(state.get().svid().renewalDue(clock.instant())));
        scheduler.schedule(this::refreshTrust, ThreadLocalRandom.current().nextLong(1000), TimeUnit.MILLISECONDS);
    }

    public AgentState current() {
        return state.get();
    }

    public void addListener(Consumer<AgentState> listener) {
        listeners.add(listener);
    }

    /** Schedules the next renewal at {@code at}, replacing a later one (scheduler thread only). */
    private void scheduleRenewal(Instant at) {
        if (nextRenewal != null && !nextRenewal.isDone()) {
            if (nextRenewalAt != null && !at.isBefore(nextRenewalAt)) {
                return;
            }
            nextRenewal.cancel(false);
        }
        long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis());
        nextRenewalAt = at;
        nextRenewal = later(this::renew, delay);
    }

    /** Schedules {@code task}; null once the agent is stopping (a call that ends during the stop asks for the next). */
    private ScheduledFuture<?> later(Runnable task, long delayMillis) {
        try {
            return scheduler.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            LOG.debug("nothing more scheduled: the agent is stopping");
            return null;
        }
    }

    private void renew() {
        nextRenewal = null;
        nextRenewalAt = null;
        AgentState now = state.get();
        try {
            GatewayClient.Issued issued = gateway.renew(now.svid(), now.bundles());
            AgentState next = now.withSvid(issued.svid(), issued.bundles());
            dir.save(next);
            state.set(next);
            failures = 0;
            X509Svid svid = next.svid();
            LOG.infof("renewed SVID %s serial %s (signer %s) valid until %s", svid.id(), Certificates.serialHex(svid.leaf()),
                    signerOf(svid), svid.notAfter());
            notifyListeners(next);
            scheduleRenewal(svid.renewalDue(clock.instant()));
        } catch (GatewayException | IOException | RuntimeException e) {
            if (closing) {
                // Cut short by the stop (interrupted after the grace): the SVID in hand stays, the next start renews.
                LOG.debugf(e, "renewal stopped: the agent is stopping");
                return;
            }
            Duration delay = backoff.delay(failures++);
            Instant expiry = now.svid().notAfter();
            String kind = e instanceof GatewayException g ? g.code() : e.getClass().getSimpleName();
            if (clock.instant().isAfter(expiry)) {
                LOG.errorf("renewal failed (%s): %s; the SVID expired at %s, workloads now hold an expired SVID; "
                        + "retrying in %s", kind, e.getMessage(), expiry, delay);
            } else {
                LOG.warnf("renewal failed (%s): %s; still serving the current SVID (valid until %s); retrying in %s",
                        kind, e.getMessage(), expiry, delay);
            }
            scheduleRenewal(clock.instant().plus(delay));
        }
    }

    /** Fetches the gateway's bundles and signer; publishes new bundles, renews early when our signer retires. */
    private void refreshTrust() {
        Duration next = maxTrustRefresh.orElse(Duration.ofMinutes(5));
        try {
            AgentState now = state.get();
            GatewayClient.Trust trust = gateway.trust(now.bundles());
            next = maxTrustRefresh.filter(max -> max.compareTo(trust.refresh()) < 0).orElse(trust.refresh());
            if (!trust.bundles().equals(now.bundles())) {
                AgentState updated = now.withBundles(trust.bundles());
                dir.save(updated);
                if (state.compareAndSet(now, updated)) {
                    LOG.infof("bundles updated: %s", describe(updated));
                    notifyListeners(updated);
                }
            }
            String signer = signerOf(state.get().svid());
            if (!trust.signer().equals(signer)) {
                Instant at = earlyRenewal(state.get().svid());
                if (nextRenewalAt == null || at.isBefore(nextRenewalAt)) {
                    LOG.infof("the CA that signed this SVID (serial %s) is being retired; the gateway signs with %s now: "
                            + "renewing early, at %s", signer, trust.signer(), at);
                    scheduleRenewal(at);
                }
            }
            trustProblem = null;
        } catch (GatewayException | IOException | RuntimeException e) {
            if (closing) {
                LOG.debugf(e, "fetching the gateway's trust stopped: the agent is stopping");
                return;
            }
            String problem = e.getMessage();
            if (!String.valueOf(problem).equals(trustProblem)) {
                LOG.warnf("fetching the gateway's trust failed: %s; the bundles in hand stay, retrying in %s", problem,
                        next);
            }
            trustProblem = String.valueOf(problem);
        }
        later(this::refreshTrust, next.toMillis());
    }

    private Instant earlyRenewal(X509Svid svid) {
        Instant now = clock.instant();
        long left = Math.max(0, Duration.between(now, svid.notAfter()).toMillis());
        long spread = Math.min(earlyRenewSpread.toMillis(), left / 4);
        return now.plusMillis(spread <= 0 ? 0 : ThreadLocalRandom.current().nextLong(spread));
    }

    /** Serial of the CA that signed {@code svid} (the chain's second certificate), as the gateway prints it. */
    static String signerOf(X509Svid svid) {
        return svid.chain().size() > 1 ? Certificates.serialHex(svid.chain().get(1)) : "unknown";
    }

    private static String describe(AgentState s) {
        StringBuilder sb = new StringBuilder();
        s.bundles().bundles().values().forEach(b -> sb.append(sb.isEmpty() ? "" : ", ").append(b.trustDomain())
                .append(" sequence ").append(b.sequence()));
        return sb.toString();
    }

    private void notifyListeners(AgentState s) {
        for (Consumer<AgentState> l : listeners) {
            try {
                l.accept(s);
            } catch (RuntimeException e) {
                LOG.warnf(e, "state listener failed");
            }
        }
    }

    /**
     * Stops renewing: a renewal or trust refresh in progress has {@link #STOP_GRACE} to finish before it is
     * interrupted, and what the stop cuts short is logged at DEBUG (a clean stop logs no failure). Listeners may
     * still be told of a renewal that finishes within the grace: close this before what they call.
     */
    @Override
    public void close() {
        closing = true;
        Workers.stop(scheduler, STOP_GRACE);
    }
}
