package io.isthmus.gateway.enrolment;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.infinispan.Cache;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.PartitionStatusChanged;
import org.infinispan.notifications.cachelistener.event.PartitionStatusChangedEvent;
import org.infinispan.partitionhandling.AvailabilityMode;
import org.jboss.logging.Logger;

/**
 * Since when this replica has been cut off from the majority of its cluster's replicas, as the join-token cache
 * tells it (that cache stops on a side without a majority, {@link EnrolmentCluster}); empty while it is not, and
 * always for a lone gateway. {@link CutOffRenewal} decides from it. Thread-safe.
 */
@Listener(observation = Listener.Observation.POST)
public final class ReplicaCutOff {
    private static final Logger LOG = Logger.getLogger(ReplicaCutOff.class);

    private final Clock clock;
    private final Duration grace;
    private volatile Instant since;

    private ReplicaCutOff(Clock clock, Duration grace) {
        this.clock = clock;
        this.grace = grace;
    }

    /**
     * Watches {@code tokens}, the join-token cache.
     *
     * @param grace {@code isthmus.enrolment.cut-off-grace}
     */
    static ReplicaCutOff watch(Cache<?, ?> tokens, Clock clock, Duration grace) {
        if (grace.isNegative()) {
            throw new IllegalArgumentException("isthmus.enrolment.cut-off-grace must not be negative, got " + grace);
        }
        ReplicaCutOff cutOff = new ReplicaCutOff(clock, grace);
        if (tokens.getCacheConfiguration().clustering().cacheMode().isClustered()) {
            tokens.addListener(cutOff);
            if (tokens.getAdvancedCache().getAvailability() != AvailabilityMode.AVAILABLE) {
                cutOff.lost();
            }
        }
        return cutOff;
    }

    /** When this replica lost the majority of its cluster's replicas, if it has not seen it since. */
    public Optional<Instant> since() {
        return Optional.ofNullable(since);
    }

    /** {@code isthmus.enrolment.cut-off-grace}. */
    public Duration grace() {
        return grace;
    }

    @PartitionStatusChanged
    public void changed(PartitionStatusChangedEvent<?, ?> e) {
        if (e.getAvailabilityMode() == AvailabilityMode.AVAILABLE) {
            Instant was = since;
            since = null;
            if (was != null) {
                LOG.infof("this replica sees a majority of its cluster's replicas again: it signs VM SVIDs for their "
                        + "whole lifetime again (it had been cut off since %s)", was);
            }
        } else {
            lost();
        }
    }

    private synchronized void lost() {
        if (since == null) {
            since = clock.instant();
            LOG.warnf("this replica is cut off from the majority of its cluster's replicas since %s: it cannot know of a"
                    + " VM revocation made on another replica, so what it signs for VMs expires by %s, and from then on"
                    + " it refuses VM calls (503 replica-cut-off) until it sees the others again "
                    + "(isthmus.enrolment.cut-off-grace = %s)", since, since.plus(grace), grace);
        }
    }
}
