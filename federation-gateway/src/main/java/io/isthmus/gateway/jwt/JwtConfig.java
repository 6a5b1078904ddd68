package io.isthmus.gateway.jwt;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** JWT-SVID issuance by this gateway. */
@ConfigMapping(prefix = "isthmus.jwt")
public interface JwtConfig {
    /**
     * Lifetime of the JWT-SVIDs this gateway signs. Short, as SPIRE's default (5 minutes): a JWT-SVID is a bearer
     * token, so a stolen one is good until it expires. A retired signing key stays in the bundle this long after the
     * key it replaced stops signing.
     */
    @WithDefault("5m")
    Duration svidTtl();

    /**
     * How long this replica's public JWT keys stay in the other replicas' bundles after its last refresh (every
     * third of this), on top of {@code svid-ttl}: a replica that dies keeps its key published until the last token
     * it could have signed has expired. Longer rides out longer pauses (GC, a partition inside the cluster); the
     * cost is a dead replica's key lingering that much longer.
     */
    @WithDefault("1m")
    Duration replicaLease();

    /**
     * How long an admin rotation step waits for every replica of the cluster to apply it before answering. The
     * answer then says, per replica, whether it has; a replica that has not goes on applying it (202), and asking
     * for the same step again waits again.
     */
    @WithDefault("10s")
    Duration rotationWait();
}
