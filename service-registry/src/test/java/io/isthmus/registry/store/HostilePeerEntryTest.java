package io.isthmus.registry.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;

import org.infinispan.Cache;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.RegistryRecord;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.signing.EntryRefusal;
import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.text.Printable;

/**
 * A compromised peer (cluster-b) writes its own keys, so its records pass every ownership and signature check: what it
 * can still choose is their content. This site receives them as from the bridge (this cache is not replicated and its
 * registry checks no signature, so what is tested is the content alone). Free text a peer puts in a record reaches
 * {@code isthmus check}, the federation page and the log; a namespace that is no DNS label made the federation status
 * fail to build, for every operator of this gateway.
 */
class HostilePeerEntryTest {
    static final String FORGED = "\r\u001b[2K\u2713 peer-ingress\n2026-01-01T00:00:00Z INFO registry: forged\u009b2J";

    private final MutableClock clock = MutableClock.now();
    private final DefaultCacheManager cm = new DefaultCacheManager();
    private InfinispanRegistry registry;

    private Cache<String, String> cache() {
        if (registry == null) {
            cm.defineConfiguration("registry", new org.infinispan.configuration.cache.ConfigurationBuilder().build());
            registry = new InfinispanRegistry(cm.<String, String>getCache("registry"), new ClusterIdentity("cluster-a",
                    new IngressAddress("a.gw.example", 15443), new Locality("eu-west", "eu-west-1a"),
                    Duration.ofSeconds(30), MeshName.DEFAULT_SUFFIX), clock);
        }
        return cm.getCache("registry");
    }

    @AfterEach
    void close() {
        if (registry != null) {
            registry.close();
        }
        cm.stop();
    }

    private void receive(ServiceKey key, String portName, String host, Locality locality) {
        Instant now = clock.instant();
        ExportedService e = new ExportedService(key, List.of(new ServicePort(portName, 8080, Protocol.HTTP)), List.of(),
                new IngressAddress(host, 15443), locality, 1, 1, now, Duration.ofSeconds(30));
        cache().put(key.toString(), EntryCodec.envelope(EntryCodec.encodeRecord(new RegistryRecord.Live(e, now)),
                Optional.empty()));
    }

    @Test
    void aPeersRecordWithNamesThatAreNoLabelsOrWithControlCharactersIsRefusedAndLoggedOnOneLine() {
        try (LogCapture log = LogCapture.of(InfinispanRegistry.class)) {
            receive(new ServiceKey("cluster-b", "Billing" + FORGED, "payments"), "http", "b.gw.example", Locality.UNKNOWN);
            receive(new ServiceKey("cluster-b", "billing", "ledger" + FORGED), "http", "b.gw.example", Locality.UNKNOWN);
            receive(new ServiceKey("cluster-b", "billing", "orders"), "http" + FORGED, "b.gw.example", Locality.UNKNOWN);
            receive(new ServiceKey("cluster-b", "billing", "cart"), "http", "10.0.0.2" + FORGED, Locality.UNKNOWN);
            receive(new ServiceKey("cluster-b", "billing", "stock"), "http", "b.gw.example",
                    new Locality("eu-west" + FORGED, ""));
            receive(new ServiceKey("cluster-b", "billing", "tax"), "http", "b.gw.example",
                    new Locality("eu-west", "eu-west-1a" + FORGED));
            // What a peer may write: a host name or an IPv6 literal, topology labels as clouds spell them.
            receive(new ServiceKey("cluster-b", "billing", "fine"), "grpc-web", "fd00::2", new Locality("EU_West.2", "z-1"));

            List<ExportedService> used = registry.list(RegistryQuery.ALL);
            assertThat(used).extracting(e -> e.key().name()).containsExactly("fine");
            used.forEach(e -> e.meshName(MeshName.DEFAULT_SUFFIX));
            assertThat(registry.refusals(EntryRefusal.MALFORMED)).isEqualTo(6);
            assertThat(log.atLeast(Level.WARNING)).hasSize(6).allSatisfy(line ->
                    assertThat(Printable.isSafe(line)).as("one line, nothing a terminal acts on: %s", line).isTrue());
            assertThat(log.atLeast(Level.WARNING)).anySatisfy(line -> assertThat(line)
                    .contains("namespace 'Billing\\x0D\\x1B[2K\u2713 peer-ingress\\x0A2026-01-01T00:00:00Z INFO"
                            + " registry: forged\\x9B2J' is not a DNS-1123 label"));
        }
    }

    @Test
    void aValueUnderAHostileKeyIsRefusedOnOneLogLine() {
        try (LogCapture log = LogCapture.of(InfinispanRegistry.class)) {
            cache().put("cluster-b/billing" + FORGED + "/payments", "not a record\n2026-01-01T00:00:00Z INFO forged");
            assertThat(registry.refusals(EntryRefusal.MALFORMED)).isEqualTo(1);
            assertThat(log.atLeast(Level.WARNING)).hasSize(1).allSatisfy(line ->
                    assertThat(Printable.isSafe(line)).as("one line, nothing a terminal acts on: %s", line).isTrue());
        }
    }
}
