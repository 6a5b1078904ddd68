package io.isthmus.agent.workloadsvid;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.isthmus.agent.Backoff;
import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.concurrent.Workers;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;

/**
 * The SVIDs of this VM's workloads (registration entries under the VM's ID), each signed by the gateway on a CSR
 * the agent makes, authenticated by the agent's own current SVID, and renewed at half life like the agent's own,
 * with the same backoff while the gateway is unreachable (the SVID in hand is served until it expires). When the
 * agent's own SVID comes back signed by another CA (a rotation retiring the old one), every workload SVID signed by
 * the old CA is renewed at once. The set of IDs follows the registration entries ({@link #follow}): a new ID is
 * signed at once, a removed one is dropped (its SVID no longer served, its renewals stopped). Held in memory only: a
 * restarted agent asks again. Thread-safe; the ID set is changed on the scheduler thread only.
 */
public final class WorkloadSvids implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WorkloadSvids.class);

    /** How long a signing in progress at stop may take to finish before it is interrupted (as the agent's renewal). */
    static final Duration STOP_GRACE = Duration.ofSeconds(1);

    private final SortedSet<SpiffeId> initial;
    /** The IDs followed now, each with the generation of its renewal loop (a re-added ID starts a new loop). */
    private final Map<SpiffeId, Long> live = new java.util.HashMap<>();
    private long generations;
    private final Supplier<AgentState> agent;
    private final GatewayClient gateway;
    private final Clock clock;
    private final Backoff backoff;
    private volatile Runnable changed = () -> { };
    private final Map<SpiffeId, X509Svid> svids = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scheduler;
    private volatile boolean closing;

    public WorkloadSvids(Set<SpiffeId> ids, Supplier<AgentState> agent, GatewayClient gateway, Clock clock,
            Backoff backoff) {
        this.initial = new TreeSet<>(ids);
        this.agent = agent;
        this.gateway = gateway;
        this.clock = clock;
        this.backoff = backoff;
        // A clean stop waits for the signing in progress, not for the next renewal or retry to come due.
        this.scheduler = Workers.scheduler("isthmus-agent-workload-svids");
    }

    /** Runs {@code changed} after every new SVID (before {@link #start}). */
    public void onChange(Runnable changed) {
        this.changed = changed;
    }

    public void start() {
        follow(initial);
    }

    /** Follows exactly {@code ids} from now on: new ones are signed at once, removed ones dropped. */
    public void follow(Set<SpiffeId> ids) {
        Set<SpiffeId> next = Set.copyOf(ids);
        // Once the agent is stopping, nothing to do (the entries' puller may still be finishing a pull).
        run(() -> {
            boolean dropped = live.keySet().retainAll(next);
            dropped |= svids.keySet().retainAll(next);
            for (SpiffeId id : new TreeSet<>(next)) {
                if (!live.containsKey(id)) {
                    long generation = ++generations;
                    live.put(id, generation);
                    fetch(id, generation, 0);
                }
            }
            if (dropped) {
                changed.run();
            }
        });
    }

    public Optional<X509Svid> get(SpiffeId id) {
        return Optional.ofNullable(svids.get(id));
    }

    /** Call after the agent's own SVID changed: workload SVIDs from another signing CA are renewed now. */
    public void agentChanged(AgentState state) {
        if (state.svid().chain().size() < 2) {
            return;
        }
        var signer = state.svid().chain().get(1);
        svids.forEach((id, svid) -> {
            if (svid.chain().size() < 2 || !svid.chain().get(1).equals(signer)) {
                run(() -> {
                    Long generation = live.get(id);
                    if (generation != null) {
                        fetch(id, generation, 0);
                    }
                });
            }
        });
    }

    private void fetch(SpiffeId id, long generation, int failures) {
        if (closing || !Long.valueOf(generation).equals(live.get(id))) {
            return; // stopping (a queued change starts no new signing), or the ID was dropped or re-added since
        }
        AgentState now = agent.get();
        try {
            X509Svid svid = gateway.issueWorkload(now.svid(), now.bundles(), id).svid();
            X509Svid previous = svids.put(id, svid);
            LOG.infof("%s workload SVID %s serial %s valid until %s", previous == null ? "got" : "renewed", id,
                    Certificates.serialHex(svid.leaf()), svid.notAfter());
            changed.run();
            schedule(id, generation, 0, Duration.between(clock.instant(), svid.renewalDue(clock.instant())));
        } catch (GatewayException | RuntimeException e) {
            if (closing) {
                // Cut short by the stop (interrupted after the grace): a restarted agent asks again.
                LOG.debugf(e, "workload SVID %s: signing stopped: the agent is stopping", id);
                return;
            }
            Duration delay = backoff.delay(failures);
            String kind = e instanceof GatewayException g ? g.code() : e.getClass().getSimpleName();
            X509Svid held = svids.get(id);
            LOG.warnf("workload SVID %s: the gateway did not sign it (%s): %s; %s; retrying in %s", id, kind,
                    e.getMessage(), held == null ? "its workloads get nothing until it does"
                            : "still serving the one valid until " + held.notAfter(), delay);
            schedule(id, generation, failures + 1, delay);
        }
    }

    private void schedule(SpiffeId id, long generation, int failures, Duration delay) {
        try {
            scheduler.schedule(() -> fetch(id, generation, failures), Math.max(0, delay.toMillis()),
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            LOG.debugf("workload SVID %s: no renewal scheduled, the agent is stopping", id);
        }
    }

    private void run(Runnable task) {
        try {
            scheduler.execute(task);
        } catch (RejectedExecutionException stopping) {
            LOG.debug("workload SVIDs not updated: the agent is stopping");
        }
    }

    /**
     * Stops: a signing in progress has {@link #STOP_GRACE} to finish before it is interrupted, and what the stop
     * cuts short is logged at DEBUG (a clean stop logs no failure); calls after this do nothing.
     */
    @Override
    public void close() {
        closing = true;
        Workers.stop(scheduler, STOP_GRACE);
    }
}
