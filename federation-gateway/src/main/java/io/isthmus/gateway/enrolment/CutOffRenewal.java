package io.isthmus.gateway.enrolment;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What a replica may sign for an enrolled VM while it is cut off from the majority of its cluster's replicas (a
 * partition, or replicas that stopped without leaving). Such a replica cannot know whether the VM was revoked on
 * the other side, so it serves for {@code isthmus.enrolment.cut-off-grace} from the moment it lost the majority, and
 * nothing it signs in that time outlives the grace; after it, it signs nothing and refuses every call that
 * authenticates as a VM, until it sees the majority again. With the default grace (the VM SVID lifetime), a revoked
 * VM holds a valid SVID no longer than it would have without the partition: an SVID signed just before the
 * revocation would have lasted as long. Pure.
 */
public final class CutOffRenewal {
    /** An SVID lifetime shorter than this is not worth signing: the agent would be back at once. */
    static final Duration SHORTEST = Duration.ofSeconds(5);

    private CutOffRenewal() {
    }

    /** What the replica may do now. */
    public sealed interface Verdict permits Sign, Refuse {
    }

    /** Sign, with this lifetime (the configured one, or less so as to end with the grace). */
    public record Sign(Duration ttl) implements Verdict {
    }

    /** Refuse, saying why and what to do. */
    public record Refuse(String message) implements Verdict {
    }

    /**
     * @param cutOffSince when this replica lost the majority of its cluster's replicas; empty while it has it
     * @param grace       {@code isthmus.enrolment.cut-off-grace}
     * @param ttl         the lifetime SVIDs get when the replica is not cut off
     */
    public static Verdict decide(Instant now, Optional<Instant> cutOffSince, Duration grace, Duration ttl) {
        if (cutOffSince.isEmpty()) {
            return new Sign(ttl);
        }
        Instant since = cutOffSince.get();
        Instant end = since.plus(grace);
        Duration left = Duration.between(now, end);
        if (left.compareTo(SHORTEST) < 0) {
            return new Refuse("this gateway replica has seen only a minority of its cluster's replicas since " + since
                    + " (" + Math.max(0, Duration.between(since, now).toSeconds()) + "s, longer than "
                    + "isthmus.enrolment.cut-off-grace = " + grace + "): a revocation made on another replica may not have"
                    + " reached it, so it signs nothing for VMs until it sees the others again; renew at another replica,"
                    + " or restart this one if the others are gone for good");
        }
        return new Sign(left.compareTo(ttl) < 0 ? left : ttl);
    }
}
