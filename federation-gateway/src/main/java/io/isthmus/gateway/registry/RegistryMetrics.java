package io.isthmus.gateway.registry;

import java.time.Clock;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.signing.EntryRefusal;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/**
 * Registry gauges: entries by kind, sites the bridge sees, refused bridge handshakes, connections closed on revocation,
 * bridge connections relayed to the site master.
 */
@ApplicationScoped
public class RegistryMetrics {
    @Inject
    RegistryService service;

    @Inject
    MeterRegistry meters;

    @Inject
    Clock clock;

    void bind(@Observes StartupEvent start) {
        Gauge.builder("isthmus_registry_entries", service, s -> s.registry().list(RegistryQuery.ALL).size())
                .description("Registry entries of every cluster").register(meters);
        Gauge.builder("isthmus_registry_own_entries", service,
                s -> s.registry().list(RegistryQuery.cluster(s.site())).size())
                .description("Registry entries this cluster exports").register(meters);
        Gauge.builder("isthmus_registry_stale_entries", service, s -> s.leases().staleEntries())
                .description("Entries whose lease lapsed (kept, not routed to)").register(meters);
        Gauge.builder("isthmus_registry_sites_connected", service,
                s -> s.node().map(n -> n.sitesView().size()).orElse(0))
                .description("Sites in the cross-site view, this one included").register(meters);
        Gauge.builder("isthmus_registry_bridge_refused_handshakes", service,
                s -> s.node().map(n -> n.refusedBridgeHandshakes()).orElse(0L))
                .description("Bridge TLS handshakes refused (certificate or site/trust-domain binding)").register(meters);
        Gauge.builder("isthmus_registry_refused_entries", service, s -> s.registry().refusedEntries())
                .description("Registry records received and not used, all reasons (see isthmus_registry_refused_records)")
                .register(meters);
        for (EntryRefusal reason : EntryRefusal.values()) {
            Gauge.builder("isthmus_registry_refused_records", service, s -> s.registry().refusals(reason))
                    .tag("reason", reason.label())
                    .description("Registry records received and not used, by reason: a forged, replayed, unsigned or "
                            + "foreign-signed export or removal (each also logged as a WARN naming the site and the key)")
                    .register(meters);
        }
        Gauge.builder("isthmus_registry_revoked_purged_entries", service, s -> s.registry().purgedRevoked())
                .description("Entries purged at once because their signer's trust was revoked (CA out of its bundle, "
                        + "cluster out of the membership)").register(meters);
        Gauge.builder("isthmus_registry_bridge_dropped_messages", service,
                s -> s.node().map(n -> n.droppedBridgeMessages()).orElse(0L))
                .description("Bridge messages dropped: the site they named is not the one their TLS connection proved")
                .register(meters);
        Gauge.builder("isthmus_registry_bridge_refused_writes", service,
                s -> s.node().map(n -> n.refusedCrossSiteWrites()).orElse(0L))
                .description("Registry updates a peer site sent that no genuine site sends (a version naming another "
                        + "writer or not counting its owner's writes), refused on arrival").register(meters);
        Gauge.builder("isthmus_registry_bridge_revoked_connections", service,
                s -> s.node().map(n -> n.revokedBridgeConnections()).orElse(0L))
                .description("Open bridge connections closed because their peer no longer verified after a bundle change")
                .register(meters);
        Gauge.builder("isthmus_registry_local_revoked_connections", service,
                s -> s.node().map(n -> n.revokedLocalConnections()).orElse(0L))
                .description("Open replica connections closed because their peer no longer verified after a bundle change")
                .register(meters);
        Gauge.builder("isthmus_registry_bridge_relayed_connections", service,
                s -> s.node().map(n -> n.relayedBridgeConnections()).orElse(0L))
                .description("Bridge connections this replica relayed to its site master (isthmus.registry.advertised-bridge-address)")
                .register(meters);
        Gauge.builder("isthmus_registry_bridge_refused_relays", service,
                s -> s.node().map(n -> n.refusedBridgeRelays()).orElse(0L))
                .description("Bridge connections this replica closed because no site master was known or reachable")
                .register(meters);
    }
}
