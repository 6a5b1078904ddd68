package io.isthmus.gateway.enrolment;

import org.infinispan.Cache;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.PartitionStatusChanged;
import org.infinispan.notifications.cachelistener.event.PartitionStatusChangedEvent;
import org.infinispan.partitionhandling.AvailabilityMode;
import org.jboss.logging.Logger;

/**
 * Says, in the gateway's log, when this replica stops and starts serving join tokens, or changing registration
 * entries. Both caches stop (tokens: reads and writes; entries: writes) on a side of a partition that lacks a majority
 * of the cluster's replicas ({@link EnrolmentCluster}), and Infinispan cannot tell a partition from a replica that
 * crashed: with two replicas, one crash is enough.
 */
@Listener(observation = Listener.Observation.POST)
public final class ReplicaAvailability {
    private static final Logger LOG = Logger.getLogger(ReplicaAvailability.class);
    private final Cache<?, ?> cache;
    private final String lost;
    private final String back;

    private ReplicaAvailability(Cache<?, ?> cache, String lost, String back) {
        this.cache = cache;
        this.lost = lost;
        this.back = back;
    }

    /** Watches the join-token cache. */
    static void watchTokens(Cache<?, ?> tokens) {
        watch(tokens, "join tokens are unavailable on this replica", "enrolment and join-token calls answer 503 "
                + "store-unavailable", "join tokens are available again on this replica");
    }

    /** Watches the cache of the cluster's JWT rotation record. */
    public static void watchRotation(Cache<?, ?> rotation) {
        watch(rotation, "JWT rotation steps cannot be recorded on this replica", "it applies the step recorded, and "
                + "asking for a step answers 503 store-unavailable", "JWT rotation steps can be recorded again on this "
                + "replica");
    }

    /** Watches the registration-entries cache. */
    static void watchEntries(Cache<?, ?> entries) {
        watch(entries, "registration entries are read-only on this replica", "agents still get the entries it has, "
                + "and changing them answers 503 store-unavailable", "registration entries can be changed again on "
                + "this replica");
    }

    private static void watch(Cache<?, ?> cache, String lost, String meaning, String back) {
        if (cache.getCacheConfiguration().clustering().cacheMode().isClustered()) {
            cache.addListener(new ReplicaAvailability(cache, lost + ": it sees only the replicas %s, not a majority of "
                    + "the cluster's replicas (a partition, or a replica that stopped without leaving); " + meaning
                    + " until the others are back. Start the missing replicas again; if one is gone for good, restart "
                    + "this one (a replica that starts alone serves them)", back + " (replicas %s)"));
        }
    }

    @PartitionStatusChanged
    public void changed(PartitionStatusChangedEvent<?, ?> e) {
        var members = cache.getCacheManager().getMembers();
        if (e.getAvailabilityMode() == AvailabilityMode.AVAILABLE) {
            LOG.infof(back, members);
        } else {
            LOG.warnf(lost, members);
        }
    }
}
