package io.isthmus.gateway.agent;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * Services registered by enrolled VM agents, prefix {@code isthmus.agent-services}: how long a registration lives
 * without a heartbeat (the agent repeats its {@code PUT} every third of it) and how often expired ones are removed.
 */
@ConfigMapping(prefix = "isthmus.agent-services")
public interface AgentServicesConfig {

    /** How long a VM service registration lives after its last {@code PUT /v1/agent/services/{name}}. */
    @WithDefault("30s")
    Duration lease();

    /** How often each replica removes expired registrations (and their registry exports). */
    @WithName("sweep-interval")
    @WithDefault("1s")
    Duration sweepInterval();
}
