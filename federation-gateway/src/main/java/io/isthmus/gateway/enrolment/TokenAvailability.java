package io.isthmus.gateway.enrolment;

import org.infinispan.Cache;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.PartitionStatusChanged;
import org.infinispan.notifications.cachelistener.event.PartitionStatusChangedEvent;
import org.infinispan.partitionhandling.AvailabilityMode;
import org.jboss.logging.Logger;

/**
 * Says, in the gateway's log, when this replica stops and starts serving join tokens. The token cache refuses reads
 * and writes on a side of a partition that lacks a majority of the cluster's replicas ({@link EnrolmentCluster}), and
 * Infinispan cannot tell a partition from a replica that crashed: with two replicas, one crash is enough.
 */
@Listener(observation = Listener.Observation.POST)
final class TokenAvailability {
    private static final Logger LOG = Logger.getLogger(TokenAvailability.class);
    private final Cache<?, ?> cache;

    private TokenAvailability(Cache<?, ?> cache) {
        this.cache = cache;
    }

    static void watch(Cache<?, ?> tokens) {
        if (tokens.getCacheConfiguration().clustering().cacheMode().isClustered()) {
            tokens.addListener(new TokenAvailability(tokens));
        }
    }

    @PartitionStatusChanged
    public void changed(PartitionStatusChangedEvent<?, ?> e) {
        var members = cache.getCacheManager().getMembers();
        if (e.getAvailabilityMode() == AvailabilityMode.AVAILABLE) {
            LOG.infof("join tokens are available again on this replica (replicas %s)", members);
        } else {
            LOG.warnf("join tokens are unavailable on this replica: it sees only the replicas %s, not a majority of "
                    + "the cluster's replicas (a partition, or a replica that stopped without leaving); enrolment and "
                    + "join-token calls answer 503 store-unavailable until the others are back. Start the missing "
                    + "replicas again; if one is gone for good, restart this one (a replica that starts alone serves "
                    + "tokens)", members);
        }
    }
}
