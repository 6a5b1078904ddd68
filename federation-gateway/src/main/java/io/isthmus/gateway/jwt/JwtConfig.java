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
}
