package io.isthmus.gateway.status;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * The federation page and its status data on the management port ({@code /federation/}, {@code
 * /federation/api/status}), prefix {@code isthmus.status}. Both are read-only and unauthenticated, like
 * {@code /q/metrics}: keep the management port cluster-internal.
 */
@ConfigMapping(prefix = "isthmus.status")
public interface StatusConfig {

    /** Serve the federation page and its status JSON on the management port. */
    @WithDefault("true")
    boolean enabled();

    /** Connect and answer timeout of each probe of a peer (its ingress, its bundle endpoint's clock). */
    @WithName("probe-timeout")
    @WithDefault("2s")
    Duration probeTimeout();

    /**
     * Probe results are reused for this long: however often the status is read, this gateway dials each peer at
     * most once per interval.
     */
    @WithName("probe-min-interval")
    @WithDefault("1s")
    Duration probeMinInterval();

    /** How many recent denials the status keeps (newest first). */
    @WithName("recent-denials")
    @WithDefault("50")
    int recentDenials();
}
