package io.isthmus.gateway.membership;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * The federation's membership, prefix {@code isthmus.federation}: a root-signed, versioned document that names
 * every member (see {@code docs/membership.md}). Once this gateway holds one, it decides the peers (bundle sync,
 * registry sites, gateway identities) and the static {@code isthmus.peers.*} and {@code isthmus.registry.peers.*}
 * are not used; without one they are.
 */
@ConfigMapping(prefix = "isthmus.federation")
public interface FederationConfig {
    /**
     * The SPIFFE bundle endpoint URL of one existing member, e.g. {@code https://gw-east.example.com:8443/}: all a new
     * cluster needs (with its own intermediate and the root certificate) to fetch the membership and join once an
     * operator admitted it. Also asked whenever this gateway holds no document.
     */
    Optional<URI> seed();

    /** How often every other member (and the seed) is asked for its document, so that a cut-off member catches up. */
    @WithName("poll-interval")
    @WithDefault("30s")
    Duration pollInterval();

    /**
     * How long a document that adds members waits for each new member's bundle endpoint to answer: a member whose
     * endpoint does not chain to a root is refused; one that does not answer in time is taken and syncs later.
     */
    @WithName("probe-timeout")
    @WithDefault("5s")
    Duration probeTimeout();

    /**
     * Membership pushes ({@code POST /v1/membership} on the bundle endpoint) a source address may make, per replica.
     * Members push once per change to each member; beyond the limit a push is answered 429 with Retry-After, neither parsed nor verified.
     */
    @WithName("push-rate-limit")
    PushLimit pushRateLimit();

    interface PushLimit {
        /** Pushes a source may make in a burst. */
        @WithDefault("20")
        int burst();

        /** Pushes per minute a source regains after its burst is spent. */
        @WithName("per-minute")
        @WithDefault("60")
        int perMinute();
    }
}
