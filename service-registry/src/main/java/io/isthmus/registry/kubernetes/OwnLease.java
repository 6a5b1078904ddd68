package io.isthmus.registry.kubernetes;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What a replica that is about to stand for the export Lease makes of finding its own identity in it. fabric8's
 * elector treats a Lease held under its identity as its own and renews it at once. That is right for this replica's
 * previous process, which died without releasing it (a restart then takes over at once instead of waiting out the
 * Lease), and wrong for another live process configured with the same identity (two writers). The two differ in one
 * observable way: a live holder keeps renewing. So a Lease still valid under this replica's identity is watched for
 * a little longer than one renewal period before the replica stands. Pure: the caller reads the Lease and keeps time.
 */
public final class OwnLease {
    private OwnLease() {
    }

    /**
     * The part of a Lease the decision needs. {@code renewed} is empty for a Lease never renewed; {@code duration} is
     * the Lease's own, when it has one (fabric8 releases a Lease by keeping the holder and shortening it to 1 s).
     */
    public record Seen(String holder, Optional<Instant> renewed, Optional<Duration> duration) {
        public Seen {
            holder = holder == null ? "" : holder;
            Objects.requireNonNull(renewed, "renewed");
            Objects.requireNonNull(duration, "duration");
        }
    }

    /** What to do, and why. */
    public enum Verdict {
        /** No Lease yet, or an empty holder (released): stand at once. */
        FREE(true),
        /** Another replica holds it: stand (the elector waits for it to lapse or be released). */
        HELD_BY_OTHER(true),
        /** Held under this identity but not renewed for a whole lease duration: stand, it is ours to take. */
        OWN_LAPSED(true),
        /** Held under this identity and still valid: watch it for {@link OwnLease#watchFor} before deciding. */
        WATCH(false),
        /** Held under this identity and not renewed while watched: a dead predecessor's. Stand and take it over. */
        OWN_PREDECESSOR(true),
        /** Renewed under this identity while watched: another live process uses it. Do not stand. */
        LIVE_TWIN(false);

        private final boolean stand;

        Verdict(boolean stand) {
            this.stand = stand;
        }

        /** Whether the replica may stand for the Lease now. */
        public boolean stand() {
            return stand;
        }
    }

    /**
     * How long to watch an own, valid Lease: a live holder renews about every {@code retryPeriod} (fabric8 jitters
     * its loops by at most 1.2 times it), so one and a half periods see at least one renewal of a live twin. The
     * price is that long a wait before a restarted replica takes its own Lease back (3 s with the default 2 s).
     */
    public static Duration watchFor(Duration retryPeriod) {
        return retryPeriod.plus(retryPeriod.dividedBy(2));
    }

    /**
     * @param first the Lease as first read (empty: none exists)
     * @param again the Lease read again after {@link #watchFor}, or empty when not watched yet
     * @param identity this replica's holder identity
     * @param now the time of the first read
     * @param leaseDuration how long a Lease holds without renewal, unless the Lease says otherwise
     */
    public static Verdict judge(Optional<Seen> first, Optional<Optional<Seen>> again, String identity, Instant now,
            Duration leaseDuration) {
        if (first.isEmpty() || first.get().holder().isEmpty()) {
            return Verdict.FREE;
        }
        Seen seen = first.get();
        if (!seen.holder().equals(identity)) {
            return Verdict.HELD_BY_OTHER;
        }
        Duration holds = seen.duration().orElse(leaseDuration);
        if (seen.renewed().isEmpty() || !seen.renewed().get().plus(holds).isAfter(now)) {
            return Verdict.OWN_LAPSED;
        }
        if (again.isEmpty()) {
            return Verdict.WATCH;
        }
        Optional<Seen> later = again.get();
        if (later.isEmpty() || !later.get().holder().equals(identity)) {
            // Deleted, released or taken by another replica meanwhile: the elector sorts that out like any Lease.
            return later.isEmpty() || later.get().holder().isEmpty() ? Verdict.FREE : Verdict.HELD_BY_OTHER;
        }
        return later.get().renewed().equals(seen.renewed()) ? Verdict.OWN_PREDECESSOR : Verdict.LIVE_TWIN;
    }
}
