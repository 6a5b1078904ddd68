package io.isthmus.gateway.config;

import io.isthmus.gateway.registry.RegistryConfig;

/**
 * This cluster's name as the federation knows it: its registry site ({@code isthmus.registry.site}), else
 * {@code isthmus.cluster-name}, else the first label of its trust domain. A membership document lists it under this name.
 */
public final class ClusterName {
    private ClusterName() {
    }

    public static String of(GatewayConfig gateway, RegistryConfig registry) {
        return registry.site().or(gateway::clusterName).orElseGet(() -> gateway.trustDomain().split("\\.")[0]);
    }
}
