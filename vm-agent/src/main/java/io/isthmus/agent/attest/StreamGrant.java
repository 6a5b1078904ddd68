package io.isthmus.agent.attest;

import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * What an open Workload API stream may still carry after the registration entries changed. A stream was granted
 * the IDs its caller's selectors matched; the selectors were taken when it opened (the caller was attested then, as
 * SPIRE's agent does), and are matched again against the entries now in force:
 * <ul>
 * <li>{@link Keep}: the same IDs;</li>
 * <li>{@link Regrant}: other IDs (some lost, some gained): the stream carries exactly the new ones from now on, never
 * the lost ones again, not even a renewal;</li>
 * <li>{@link End}: no ID left: the stream ends with PERMISSION_DENIED "no identity issued", SPIRE's answer.</li>
 * </ul>
 * Without this, a stream opened before an entry was deleted or its selectors changed went on receiving the SVIDs
 * (and renewals) of an identity its caller no longer has. Pure; thread-safe.
 */
public final class StreamGrant {
    private StreamGrant() {
    }

    /** The verdict for one stream. */
    public sealed interface Verdict permits Keep, Regrant, End {
    }

    /** The stream keeps what it has. */
    public record Keep() implements Verdict {
    }

    /**
     * The stream carries {@code now} from here on.
     *
     * @param lost IDs it had and must never carry again
     * @param gained IDs the caller matches now and did not before
     */
    public record Regrant(SortedSet<SpiffeId> now, SortedSet<SpiffeId> lost, SortedSet<SpiffeId> gained) implements Verdict {
        public Regrant {
            now = sorted(now);
            lost = sorted(lost);
            gained = sorted(gained);
            if (now.isEmpty()) {
                throw new IllegalArgumentException("a stream left with no ID ends; it is not regranted nothing");
            }
        }
    }

    /** The stream ends: its caller matches no entry any more. {@code lost} is every ID it had. */
    public record End(SortedSet<SpiffeId> lost) implements Verdict {
        public End {
            lost = sorted(lost);
        }
    }

    /**
     * @param caller the selectors the caller showed when the stream opened
     * @param held the IDs the stream carries now
     * @param entries the entries in force now
     */
    public static Verdict decide(Set<Selector> caller, SortedSet<SpiffeId> held, Collection<RegistrationEntry> entries) {
        SortedSet<SpiffeId> now = Matching.identities(caller, entries);
        if (now.equals(held)) {
            return new Keep();
        }
        if (now.isEmpty()) {
            return new End(held);
        }
        SortedSet<SpiffeId> lost = new TreeSet<>(held);
        lost.removeAll(now);
        SortedSet<SpiffeId> gained = new TreeSet<>(now);
        gained.removeAll(held);
        return new Regrant(now, lost, gained);
    }

    private static SortedSet<SpiffeId> sorted(SortedSet<SpiffeId> ids) {
        return Collections.unmodifiableSortedSet(new TreeSet<>(ids));
    }
}
