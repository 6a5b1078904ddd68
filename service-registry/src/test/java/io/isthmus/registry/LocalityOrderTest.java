package io.isthmus.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

class LocalityOrderTest {
    private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

    private static ExportedService export(String cluster, Locality locality, int ready, Instant heartbeat) {
        return new ExportedService(new ServiceKey(cluster, "billing", "payments"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)), List.of(), new IngressAddress(cluster + ".example", 15443),
                locality, ready, 1, heartbeat, Duration.ofSeconds(30));
    }

    @Test
    void ranksSameZoneThenSameRegionThenTheRestAndDropsWhatCannotServe() {
        Locality from = new Locality("eu-west", "eu-west-1a");
        List<ExportedService> ranked = LocalityOrder.rank(List.of(
                export("far", new Locality("us-east", "us-east-1a"), 3, NOW),
                export("region", new Locality("eu-west", "eu-west-1b"), 3, NOW),
                export("zone", new Locality("eu-west", "eu-west-1a"), 3, NOW),
                export("stale", new Locality("eu-west", "eu-west-1a"), 3, NOW.minusSeconds(31)),
                export("empty", new Locality("eu-west", "eu-west-1a"), 0, NOW),
                export("also-far", Locality.UNKNOWN, 1, NOW)), from, NOW);
        assertThat(ranked).extracting(e -> e.key().cluster()).containsExactly("zone", "region", "also-far", "far");
    }

    @Test
    void staleEntriesStayVisibleButAreNotRoutable() {
        ExportedService e = export("c", Locality.UNKNOWN, 2, NOW.minusSeconds(30));
        assertThat(e.stale(NOW)).isFalse();
        assertThat(e.stale(NOW.plusSeconds(1))).isTrue();
        assertThat(e.routable(NOW.plusSeconds(1))).isFalse();
    }

    @Test
    void meshNamesParseFromHostHeaders() {
        assertThat(MeshName.parseHost("payments.billing.svc.clusterset.local", MeshName.DEFAULT_SUFFIX))
                .contains(MeshName.of("payments", "billing"));
        assertThat(MeshName.parseHost("Payments.Billing.svc.clusterset.local.:8080", MeshName.DEFAULT_SUFFIX))
                .contains(MeshName.of("payments", "billing"));
        assertThat(MeshName.parseHost("payments.billing.svc.cluster.local", MeshName.DEFAULT_SUFFIX)).isEmpty();
        assertThat(MeshName.parseHost("a.payments.billing.svc.clusterset.local", MeshName.DEFAULT_SUFFIX)).isEmpty();
        assertThat(MeshName.parseHost("under_score.billing.svc.clusterset.local", MeshName.DEFAULT_SUFFIX)).isEmpty();
        assertThat(MeshName.parseHost(".billing.svc.clusterset.local", MeshName.DEFAULT_SUFFIX)).isEmpty();
        assertThat(MeshName.parseHost("payments.billing.mesh.acme", "mesh.acme")).contains(
                new MeshName("payments", "billing", "mesh.acme"));
    }
}
