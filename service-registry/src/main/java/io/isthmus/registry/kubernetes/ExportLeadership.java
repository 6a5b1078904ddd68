package io.isthmus.registry.kubernetes;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CancellationException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElector;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;

/**
 * One writer per cluster: of the gateway replicas of one cluster, only the holder of a {@code coordination.k8s.io}
 * Lease runs the Kubernetes export source (fabric8's {@link LeaderElector}). The others stand by with the same
 * registry (replicated within the site) and take over when the Lease is not renewed for {@code leaseDuration}: a
 * leader that died without releasing it is replaced within {@code leaseDuration + retryPeriod} of its last renewal.
 *
 * <p>A new leader starts a fresh source, whose startup sweep re-exports what its ServiceExports say: content that
 * did not change keeps its revision, so a handover is invisible to other sites (no unexport, no revision bump). The
 * entries' own leases are renewed by every replica's lease keeper, so they stay routable while nobody leads.
 *
 * <p>A leader that cannot renew within {@code renewDeadline} (shorter than {@code leaseDuration}) stops its source
 * before another replica can acquire the Lease, so two writers never overlap, given clocks that agree to within
 * {@code leaseDuration - renewDeadline}. A clean stop releases the Lease, so the handover is immediate. After losing
 * the Lease a replica stands for election again.
 */
public final class ExportLeadership implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ExportLeadership.class);

    /**
     * @param namespace where the Lease lives (the gateway's own namespace)
     * @param name the Lease's name, one per cluster
     * @param identity this replica (its pod name), written into the Lease as the holder
     */
    public record Settings(String namespace, String name, String identity, Duration leaseDuration, Duration renewDeadline,
            Duration retryPeriod) {
        public Settings {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(identity, "identity");
            if (identity.isBlank() || namespace.isBlank() || name.isBlank()) {
                throw new IllegalArgumentException("Lease namespace, name and holder identity must not be blank");
            }
            if (!(retryPeriod.compareTo(renewDeadline) < 0 && renewDeadline.compareTo(leaseDuration) < 0)
                    || retryPeriod.isZero() || retryPeriod.isNegative()) {
                throw new IllegalArgumentException("need 0 < retry period (" + retryPeriod + ") < renew deadline ("
                        + renewDeadline + ") < lease duration (" + leaseDuration + "): a leader must give up before"
                        + " another replica may take the Lease");
            }
        }
    }

    private final KubernetesClient client;
    private final Settings settings;
    private final Supplier<LeaderWork> sources;
    /** Runs the election loop and the callbacks, so start and stop of the source never race each other. */
    private final ScheduledExecutorService loop;
    private volatile LeaderWork running;
    private volatile CompletableFuture<?> election;
    private volatile boolean closed;
    private volatile String leader = "";
    private volatile boolean started;
    private volatile boolean twinReported;

    /**
     * What only the leader runs (the export source, the ServiceImport writer), made afresh at each election won:
     * {@code start} when leading, {@code close} when the Lease is lost or on stop. Both are called on one thread.
     */
    public interface LeaderWork extends AutoCloseable {
        void start();

        @Override
        void close();

        static LeaderWork of(Runnable start, Runnable close) {
            return new LeaderWork() {
                @Override
                public void start() {
                    start.run();
                }

                @Override
                public void close() {
                    close.run();
                }
            };
        }
    }

    public ExportLeadership(KubernetesClient client, Settings settings, Supplier<LeaderWork> sources) {
        this.client = client;
        this.settings = settings;
        this.sources = sources;
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "isthmus-registry-leader-" + settings.identity());
            t.setDaemon(true);
            return t;
        });
        // A clean stop must not wait for a delayed look at the Lease (up to a lease duration away) to come due.
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.loop = executor;
    }

    /**
     * Stands for election; returns at once. A Lease still valid under this replica's own identity is watched first
     * ({@link OwnLease}): a dead predecessor's is taken over at once, one another live process keeps renewing under
     * the same identity is left alone (this replica stands by, and looks again every lease duration).
     */
    public synchronized void start() {
        if (closed || election != null || started) {
            return;
        }
        started = true;
        run(() -> loop.execute(this::checkOwnLease));
    }

    private void checkOwnLease() {
        if (closed) {
            return;
        }
        OwnLease.Verdict verdict;
        Optional<OwnLease.Seen> first;
        try {
            Instant now = Instant.now();
            first = readLease();
            verdict = OwnLease.judge(first, Optional.empty(), settings.identity(), now, settings.leaseDuration());
            if (verdict == OwnLease.Verdict.WATCH) {
                Thread.sleep(OwnLease.watchFor(settings.retryPeriod()).toMillis());
                verdict = OwnLease.judge(first, Optional.of(readLease()), settings.identity(), now,
                        settings.leaseDuration());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (RuntimeException e) {
            // KubernetesClientException, or a client closed under us: the elector meets the same API server and
            // retries on its own; this check must never keep it from standing.
            LOG.debugf("registry: could not read Lease %s/%s before standing (%s)", settings.namespace(), settings.name(),
                    e.getMessage());
            stand();
            return;
        }
        switch (verdict) {
            case OWN_PREDECESSOR -> LOG.infof("registry: replica %s takes over Lease %s/%s from its own previous process,"
                    + " which did not release it (last renewed %s)", settings.identity(), settings.namespace(),
                    settings.name(), first.flatMap(OwnLease.Seen::renewed).map(Instant::toString).orElse("never"));
            case LIVE_TWIN -> {
                if (!twinReported) {
                    twinReported = true;
                    LOG.warnf("registry: another live process renews Lease %s/%s under this replica's identity '%s';"
                            + " this replica will not write Kubernetes exports while it does (two writers would fight)."
                            + " Give each replica its own isthmus.registry.kubernetes.leader-election.identity"
                            + " (outside Kubernetes the default is the host name and the data directory)",
                            settings.namespace(), settings.name(), settings.identity());
                }
                run(() -> loop.schedule(this::checkOwnLease, settings.leaseDuration().toMillis(), TimeUnit.MILLISECONDS));
                return;
            }
            default -> {
            }
        }
        stand();
    }

    private Optional<OwnLease.Seen> readLease() {
        Lease lease = client.leases().inNamespace(settings.namespace()).withName(settings.name()).get();
        if (lease == null || lease.getSpec() == null) {
            return Optional.empty();
        }
        return Optional.of(new OwnLease.Seen(lease.getSpec().getHolderIdentity(),
                Optional.ofNullable(lease.getSpec().getRenewTime()).map(ZonedDateTime::toInstant),
                Optional.ofNullable(lease.getSpec().getLeaseDurationSeconds()).map(Duration::ofSeconds)));
    }

    private synchronized void stand() {
        if (closed) {
            return;
        }
        LeaderElector elector = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
                .withName("isthmus-registry-writer")
                .withLock(new LeaseLock(settings.namespace(), settings.name(), settings.identity()))
                .withLeaseDuration(settings.leaseDuration())
                .withRenewDeadline(settings.renewDeadline())
                .withRetryPeriod(settings.retryPeriod())
                .withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(this::lead, this::follow, this::newLeader))
                .build()).build();
        CompletableFuture<?> f = elector.start();
        election = f;
        f.whenComplete((ok, failure) -> {
            if (closed || failure instanceof CancellationException) {
                return;
            }
            LOG.infof("registry: replica %s is no longer in the election for Lease %s/%s%s; standing again",
                    settings.identity(), settings.namespace(), settings.name(),
                    failure == null ? "" : " (" + failure.getMessage() + ")");
            // Not at once: an API server that refuses us now would make this a busy loop.
            run(() -> loop.schedule(this::stand, settings.retryPeriod().toMillis(), TimeUnit.MILLISECONDS));
        });
    }

    private void run(Runnable r) {
        try {
            r.run();
        } catch (RejectedExecutionException stopped) {
            // closed meanwhile
        }
    }

    private void lead() {
        run(() -> loop.execute(() -> {
            if (closed || running != null) {
                return;
            }
            LOG.infof("registry: replica %s leads (Lease %s/%s); it alone writes this cluster's Kubernetes exports",
                    settings.identity(), settings.namespace(), settings.name());
            LeaderWork source = sources.get();
            running = source;
            try {
                source.start();
            } catch (RuntimeException e) {
                LOG.warnf("registry: replica %s leads but its Kubernetes source did not start: %s", settings.identity(),
                        e.getMessage());
            }
        }));
    }

    private void follow() {
        run(() -> loop.execute(() -> {
            LeaderWork source = running;
            running = null;
            if (source != null) {
                source.close();
                LOG.infof("registry: replica %s stopped leading (Lease %s/%s); its Kubernetes source is stopped",
                        settings.identity(), settings.namespace(), settings.name());
            }
        }));
    }

    private void newLeader(String identity) {
        leader = identity;
        if (!identity.equals(settings.identity())) {
            LOG.infof("registry: %s leads the Kubernetes source (Lease %s/%s); replica %s stands by", identity,
                    settings.namespace(), settings.name(), settings.identity());
        }
    }

    /** Whether this replica runs the Kubernetes source now. */
    public boolean leading() {
        return running != null;
    }

    /** The holder this replica last saw in the Lease (empty before the first observation). */
    public String leader() {
        return leader;
    }

    /** Stops the source and releases the Lease (a clean stop: another replica takes over at once). */
    @Override
    public void close() {
        CompletableFuture<?> f;
        synchronized (this) {
            closed = true;
            f = election;
        }
        if (f != null) {
            f.cancel(true);
        }
        follow();
        loop.shutdown();
        try {
            loop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
