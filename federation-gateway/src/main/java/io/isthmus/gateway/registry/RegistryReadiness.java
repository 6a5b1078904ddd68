package io.isthmus.gateway.registry;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;
import org.infinispan.lifecycle.ComponentStatus;

import io.isthmus.registry.xsite.RegistryNode;

/**
 * Ready when the registry cache runs. Reports, per peer site, whether the bridge currently sees it and when an
 * update from it last arrived; like the trust check it does not go DOWN for an unreachable peer (one lost peer
 * must not take every replica out of its load balancer), so alert on the data instead.
 */
@Readiness
@ApplicationScoped
public class RegistryReadiness implements HealthCheck {
    @Inject
    RegistryService service;

    @Inject
    Clock clock;

    @Override
    public HealthCheckResponse call() {
        Instant now = clock.instant();
        HealthCheckResponseBuilder b = HealthCheckResponse.named("isthmus-registry")
                .withData("site", service.site())
                .withData("replicated", service.node().isPresent())
                .withData("entries", service.registry().list(io.isthmus.registry.RegistryQuery.ALL).size())
                .withData("stale-entries", service.leases().staleEntries());
        boolean up;
        if (service.node().isPresent()) {
            RegistryNode node = service.node().get();
            Set<String> view = node.sitesView();
            Map<String, Instant> lastSync = service.registry().lastUpdateByCluster();
            b.withData("sites-connected", String.join(",", view.stream().sorted().toList()));
            b.withData("bridge-refused-handshakes", node.refusedBridgeHandshakes());
            b.withData("bridge-dropped-messages", node.droppedBridgeMessages());
            b.withData("refused-entries", service.registry().refusedEntries());
            b.withData("bridge-refused-writes", node.refusedCrossSiteWrites());
            b.withData("bridge-revoked-connections", node.revokedBridgeConnections());
            b.withData("local-revoked-connections", node.revokedLocalConnections());
            for (String peer : node.settings().peers().keySet()) {
                Instant last = lastSync.get(peer);
                b.withData("site." + peer, (view.contains(peer) ? "connected" : "disconnected") + ", last update "
                        + (last == null ? "never" : Duration.between(last, now).toSeconds() + "s ago (" + last + ")"));
            }
            up = node.cacheManager().getStatus() == ComponentStatus.RUNNING && node.registryCache().getStatus() == ComponentStatus.RUNNING;
        } else {
            up = true;
        }
        return b.status(up).build();
    }
}
