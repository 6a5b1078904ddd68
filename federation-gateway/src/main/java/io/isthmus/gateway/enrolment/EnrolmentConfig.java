package io.isthmus.gateway.enrolment;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** VM enrolment and renewal on the gateway's TLS port (15012), prefix {@code isthmus.enrolment}. */
@ConfigMapping(prefix = "isthmus.enrolment")
public interface EnrolmentConfig {

    /** Lifetime of a join token when the admin does not give one. */
    @WithName("token-ttl")
    @WithDefault("15m")
    Duration tokenTtl();

    /** Longest lifetime an admin may give a join token. */
    @WithName("max-token-ttl")
    @WithDefault("24h")
    Duration maxTokenTtl();

    /** How many enrolments one join token allows when the admin does not say. */
    @WithName("token-max-uses")
    @WithDefault("1")
    int tokenMaxUses();

    /**
     * How long a join token is kept after it expired, so that `isthmus token list` and a late enrolment still say
     * "expired" rather than "unknown"; then it is deleted on every replica. Swept every
     * {@code token-purge-interval}.
     */
    @WithName("token-retention")
    @WithDefault("24h")
    Duration tokenRetention();

    /** How often expired join tokens older than {@code token-retention} are deleted. */
    @WithName("token-purge-interval")
    @WithDefault("10m")
    Duration tokenPurgeInterval();

    /** Lifetime of the SVIDs issued to VMs; defaults to {@code isthmus.ca.svid-ttl}. Agents renew at half life. */
    @WithName("svid-ttl")
    Optional<Duration> svidTtl();

    /** The VM SVID lifetime in force: {@code svid-ttl} if set, else {@code caSvidTtl} ({@code isthmus.ca.svid-ttl}). */
    static Duration vmSvidTtl(EnrolmentConfig enrolment, Duration caSvidTtl) {
        return enrolment.svidTtl().orElse(caSvidTtl);
    }

    /**
     * How long a replica that lost the majority of its cluster's replicas (a partition, or replicas that stopped
     * without leaving) still signs for VMs; defaults to the VM SVID lifetime ({@code svid-ttl}). It cannot know of a
     * revocation made on the other side, so what it signs in that time expires by the end of it, and afterwards it
     * refuses every call that authenticates as a VM (503 {@code replica-cut-off}) until it sees the others again
     * ({@link CutOffRenewal}). Zero refuses at once.
     */
    @WithName("cut-off-grace")
    Optional<Duration> cutOffGrace();

    /** Namespaces VM identities may be issued in; empty means any namespace except the gateway's own. */
    @WithName("allowed-namespaces")
    Optional<List<String>> allowedNamespaces();

    /**
     * Rate limit on enrolment attempts (successful or not) per source address, shared by all gateway replicas of
     * this cluster (not by other clusters): two replicas together allow this limit, not twice it.
     */
    @WithName("rate-limit")
    RateLimit rateLimit();

    /**
     * How the enrolment state is kept. It is replicated among this cluster's gateway replicas on the registry's cache
     * manager (its local cluster), so only persistence is set here.
     */
    Cluster cluster();

    interface RateLimit {
        /** Attempts a source may make in a burst. */
        @WithDefault("10")
        int burst();

        /** Attempts per minute a source regains after its burst is spent. */
        @WithName("per-minute")
        @WithDefault("10")
        int perMinute();
    }

    interface Cluster {
        /**
         * Persist tokens and VM identities under {@code <data-dir>/enrolment} on each replica, so that revocations
         * and enrolled identities survive a restart of every replica at once (or of a lone replica).
         */
        @WithDefault("true")
        boolean persistent();
    }
}
