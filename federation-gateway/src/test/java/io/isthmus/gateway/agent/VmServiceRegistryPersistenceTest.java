package io.isthmus.gateway.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.store.InfinispanRegistry;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * A gateway restarted while its VM is gone: the registry entry comes back (from the other sites, here: it simply
 * stays in the registry cache), and the persisted registration lets the gateway know it is a VM service, keep its
 * backend, and remove the export when the lease runs out instead of renewing it for ever.
 */
class VmServiceRegistryPersistenceTest {
    private static final Instant START = Instant.parse("2026-11-23T12:00:00Z");
    private static final SpiffeId VM = SpiffeId.parse("spiffe://east.acme.internal/ns/shop/sa/vm-ledger");
    private static final AgentServicesConfig CONFIG = new AgentServicesConfig() {
        @Override
        public Duration lease() {
            return Duration.ofSeconds(30);
        }

        @Override
        public Duration sweepInterval() {
            return Duration.ofHours(1); // the test sweeps by hand
        }
    };

    @Test
    void aRestartedGatewayRemembersItsVmServicesAndExpiresThem(@TempDir Path dir) {
        AtomicReference<Instant> now = new AtomicReference<>(START);
        Clock clock = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now.get();
            }
        };
        DefaultCacheManager manager = new DefaultCacheManager();
        manager.defineConfiguration("registry", new ConfigurationBuilder().build());
        InfinispanRegistry registry = new InfinispanRegistry(manager.getCache("registry"), new ClusterIdentity("east",
                new IngressAddress("east.gw.example", 15443), Locality.UNKNOWN, Duration.ofSeconds(30),
                MeshName.DEFAULT_SUFFIX), clock);
        ServiceKey key = new ServiceKey("east", "shop", "vm-ledger");
        try {
            VmServiceRegistry first = new VmServiceRegistry(registry, manager, clock, CONFIG, dir);
            first.register(new VmServiceRecord.Request("shop", "vm-ledger", 8080, Protocol.HTTP, "10.1.2.3", 18080, VM));
            first.stop();
            manager.stopCache(VmServiceRegistry.CACHE);
            manager.undefineConfiguration(VmServiceRegistry.CACHE);

            now.set(START.plusSeconds(10));
            VmServiceRegistry second = new VmServiceRegistry(registry, manager, clock, CONFIG, dir);
            try {
                assertThat(second.registered(key)).isTrue();
                assertThat(second.registered(new ServiceKey("west", "shop", "vm-ledger"))).as("other cluster").isFalse();
                assertThat(second.resolve(MeshName.of("vm-ledger", "shop"), 8080))
                        .hasValueSatisfying(a -> assertThat(a.getPort()).isEqualTo(18080));
                assertThat(second.sweep()).as("lease still running").isZero();
                assertThat(registry.get(key)).isPresent();

                now.set(START.plusSeconds(31));
                assertThat(second.sweep()).isEqualTo(1);
                assertThat(registry.get(key)).as("the VM never came back: export removed").isEmpty();
                assertThat(second.registered(key)).isFalse();
            } finally {
                second.stop();
            }
        } finally {
            registry.close();
            manager.stop();
        }
    }
}
