package io.isthmus.agent.attest;

import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Turns a Workload API caller into the SPIFFE IDs it may act as. With no registration entries, attestation is off
 * and every local caller gets the VM's own ID (the behaviour before entries existed). With entries, the caller's
 * selectors must match an entry; none matching means the empty set, which the Workload API answers with
 * PERMISSION_DENIED. Whether attestation is on is decided at construction and never changes; the entries may be
 * replaced while the agent runs ({@link #replaceEntries}: the file reloaded, entries pushed by the gateway), and the
 * next call is matched against the new ones, and every listener ({@link #onReplaced}) is told, so that streams opened
 * before the change give up what the new entries no longer grant ({@link StreamGrant}). Thread-safe.
 */
public final class WorkloadAttestation {
    private final boolean enabled;
    private volatile List<RegistrationEntry> entries;
    private final Function<Caller, Set<Selector>> attestor;
    private final List<Runnable> replaced = new CopyOnWriteArrayList<>();

    /**
     * What one caller is: its selectors (empty with attestation off: there is nothing to match, the caller gets the
     * VM's own ID) and the IDs they give under the entries in force when it was attested.
     */
    public record Attested(Optional<Set<Selector>> selectors, SortedSet<SpiffeId> ids) {
        public Attested {
            selectors = selectors.map(Set::copyOf);
            ids = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(ids));
        }
    }

    /**
     * Attestation on, with {@code entries} (possibly none yet: then every caller is refused until entries come).
     *
     * @param attestor derives a caller's selectors; throws {@link UncheckedAttestation} when it cannot
     */
    public WorkloadAttestation(List<RegistrationEntry> entries, Function<Caller, Set<Selector>> attestor) {
        this(true, entries, attestor);
    }

    private WorkloadAttestation(boolean enabled, List<RegistrationEntry> entries,
            Function<Caller, Set<Selector>> attestor) {
        this.enabled = enabled;
        this.entries = List.copyOf(entries);
        this.attestor = attestor;
    }

    public static WorkloadAttestation off() {
        return new WorkloadAttestation(false, List.of(), c -> Set.of());
    }

    /** Puts {@code next} in force for the next call (attestation on only; with it off there is nothing to match). */
    public void replaceEntries(List<RegistrationEntry> next) {
        if (!enabled) {
            throw new IllegalStateException("workload attestation is off: registration entries cannot be applied");
        }
        this.entries = List.copyOf(next);
        for (Runnable listener : replaced) {
            listener.run();
        }
    }

    /**
     * Runs {@code listener} after every {@link #replaceEntries}, on the thread that replaced them, once the new entries
     * are in force ({@link #entries} answers them). Must not block.
     */
    public void onReplaced(Runnable listener) {
        replaced.add(listener);
    }

    public static WorkloadAttestation unix(List<RegistrationEntry> entries) {
        UnixAttestor unix = new UnixAttestor();
        return new WorkloadAttestation(entries, c -> {
            try {
                return unix.attest(c);
            } catch (AttestationException e) {
                throw new UncheckedAttestation(e);
            }
        });
    }

    public boolean enabled() {
        return enabled;
    }

    public List<RegistrationEntry> entries() {
        return entries;
    }

    /** The workload IDs the entries name, other than the VM's own (those the agent needs SVIDs for). */
    public SortedSet<SpiffeId> workloadIds(SpiffeId vm) {
        SortedSet<SpiffeId> ids = new TreeSet<>();
        List<RegistrationEntry> now = entries;
        now.forEach(e -> ids.add(e.spiffeId()));
        ids.remove(vm);
        return ids;
    }

    /**
     * @param caller null when the transport could not tell who called (then nobody is trusted, if attestation is on)
     * @throws AttestationException when the caller cannot be attested (its process is gone)
     */
    public SortedSet<SpiffeId> identitiesFor(Caller caller, SpiffeId vm) throws AttestationException {
        return attest(caller, vm).ids();
    }

    /**
     * As {@link #identitiesFor}, with the caller's selectors kept: a stream matches them again whenever the entries
     * change.
     */
    public Attested attest(Caller caller, SpiffeId vm) throws AttestationException {
        if (!enabled()) {
            return new Attested(Optional.empty(), new TreeSet<>(Set.of(vm)));
        }
        if (caller == null) {
            return new Attested(Optional.of(Set.of()), new TreeSet<>());
        }
        try {
            Set<Selector> selectors = attestor.apply(caller);
            return new Attested(Optional.of(selectors), Matching.identities(selectors, entries));
        } catch (UncheckedAttestation e) {
            throw e.getCause();
        }
    }

    /** The attestor's failure, carried through {@link Function}. */
    public static final class UncheckedAttestation extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public UncheckedAttestation(AttestationException cause) {
            super(cause);
        }

        @Override
        public synchronized AttestationException getCause() {
            return (AttestationException) super.getCause();
        }
    }
}
