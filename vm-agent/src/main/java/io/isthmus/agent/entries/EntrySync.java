package io.isthmus.agent.entries;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;

import org.jboss.logging.Logger;

import io.isthmus.agent.attest.PushedEntries;
import io.isthmus.agent.attest.RegistrationEntries;
import io.isthmus.agent.attest.WorkloadAttestation;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.concurrent.Workers;
import io.isthmus.trust.reload.WatchedFiles;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Keeps the agent's registration entries current without a restart: the gateway's entries for this agent are pulled
 * at start, every {@code interval} and after each SVID renewal; the file (if any) is looked at on the same beat and
 * reloaded when its content changes. The entries in force are the union of both ({@link PushedEntries#union}),
 * each checked against the VM's ID here too; a change goes to the attestation (the next call matches against it)
 * and to the workload SVIDs (new IDs signed, removed ones dropped). If the gateway cannot be reached the entries it
 * sent last stay in force, and that is said once per outage; a bad file is refused (logged once) and the previous
 * one stays. All work happens on one thread.
 */
public final class EntrySync implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EntrySync.class);

    /** How long a pull in progress at stop may take to finish before it is interrupted (as the agent's renewal). */
    static final Duration STOP_GRACE = Duration.ofSeconds(1);

    /** Asks the gateway for this agent's entries (a JSON array). */
    @FunctionalInterface
    public interface Fetch {
        JsonNode fetch() throws GatewayException;
    }

    private final SpiffeId vm;
    private final URI gateway;
    private final Fetch fetch;
    private final WorkloadAttestation attestation;
    private final Consumer<Set<SpiffeId>> idsChanged;
    private final Duration interval;
    private final Optional<WatchedFiles> file;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("isthmus-agent-entries").factory());
    private final Set<String> refusalsLogged = new HashSet<>();
    private volatile boolean closing;
    private List<RegistrationEntry> fromFile;
    private List<RegistrationEntry> fromGateway = List.of();
    private List<RegistrationEntry> inForce;
    private String problem;

    /**
     * @param fileEntries the file's entries as read at start (already in {@code attestation})
     * @param idsChanged told the workload IDs after every change
     */
    public EntrySync(SpiffeId vm, URI gateway, Fetch fetch, WorkloadAttestation attestation, Optional<Path> entriesFile,
            List<RegistrationEntry> fileEntries, Consumer<Set<SpiffeId>> idsChanged, Duration interval) {
        this.vm = vm;
        this.gateway = gateway;
        this.fetch = fetch;
        this.attestation = attestation;
        this.idsChanged = idsChanged;
        this.interval = interval;
        this.fromFile = List.copyOf(fileEntries);
        this.inForce = attestation.entries();
        this.file = entriesFile.map(f -> new WatchedFiles("the registration entries", List.of(f), () -> {
            fromFile = RegistrationEntries.read(f, vm);
            apply("file " + f + " changed");
        }));
    }

    /** Pulls once and waits for it (so that the first callers see the gateway's entries), then keeps pulling. */
    public void start() throws InterruptedException {
        try {
            scheduler.submit(this::pull).get();
        } catch (ExecutionException e) {
            LOG.warnf(e.getCause(), "the first pull of registration entries failed");
        }
        scheduler.scheduleWithFixedDelay(() -> {
            file.ifPresent(WatchedFiles::check);
            pull();
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Pulls soon (after an SVID renewal: the gateway may have been changed meanwhile). */
    public void pullSoon() {
        try {
            scheduler.execute(this::pull);
        } catch (RejectedExecutionException stopping) {
            LOG.debug("registration entries not pulled: the agent is stopping");
        }
    }

    private void pull() {
        if (closing) {
            return; // a pull asked for just before the stop
        }
        try {
            PushedEntries pushed = PushedEntries.check(vm, fetch.fetch());
            for (String refusal : pushed.refused()) {
                if (refusalsLogged.add(refusal)) {
                    LOG.warnf("refused a registration entry from gateway %s, it is not used: %s; fix it there "
                            + "(PUT /v1/admin/registration-entries for %s)", gateway, refusal, vm);
                }
            }
            if (problem != null) {
                LOG.infof("registration entries from gateway %s fetched again", gateway);
                problem = null;
            }
            fromGateway = pushed.accepted();
            apply("gateway " + gateway);
        } catch (GatewayException | RuntimeException e) {
            if (closing) {
                // Cut short by the stop (interrupted after the grace): the entries in force stay until the end.
                LOG.debugf(e, "pulling registration entries from gateway %s stopped: the agent is stopping", gateway);
                return;
            }
            if (problem == null) {
                LOG.warnf("cannot fetch this agent's registration entries from gateway %s (%s); keeping the %d it sent "
                        + "last and asking again every %s. Check that the gateway is reachable from this VM and that "
                        + "%s is enrolled and not revoked ('isthmus identities list')", gateway, e.getMessage(),
                        fromGateway.size(), interval, vm);
            }
            problem = String.valueOf(e.getMessage());
        }
    }

    private void apply(String why) {
        List<RegistrationEntry> next = PushedEntries.union(fromFile, fromGateway);
        if (next.equals(inForce)) {
            return;
        }
        inForce = next;
        attestation.replaceEntries(next);
        idsChanged.accept(attestation.workloadIds(vm));
        LOG.infof("registration entries now %d (%d from the file, %d from the gateway) after %s: %s", next.size(),
                fromFile.size(), fromGateway.size(), why, next.stream().map(e -> e.spiffeId() + " " + e.selectors())
                        .toList());
    }

    /**
     * Stops pulling: a pull in progress has {@link #STOP_GRACE} to finish before it is interrupted, and what the stop
     * cuts short is logged at DEBUG (a clean stop logs no failure). A pull that finishes within the grace still
     * tells {@code idsChanged}: close this before the workload SVIDs.
     */
    @Override
    public void close() {
        closing = true;
        Workers.stop(scheduler, STOP_GRACE);
    }
}
