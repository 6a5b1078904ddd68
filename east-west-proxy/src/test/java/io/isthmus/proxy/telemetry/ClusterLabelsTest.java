package io.isthmus.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** Both clusters on every request series, each label from a bounded set, whatever callers and names arrive. */
class ClusterLabelsTest {
    private final ClusterDirectory beta = new ClusterDirectory("beta", Map.of(
            TrustDomain.parse("alpha.acme.internal"), "alpha", TrustDomain.parse("beta.acme.internal"), "beta",
            TrustDomain.parse("gamma.acme.internal"), "gamma"), 3);

    @Test
    void ingressNamesTheCallersClusterAndThisOne() {
        RequestLabels l = beta.ingress(SpiffeId.parse("spiffe://alpha.acme.internal/ns/shop/sa/checkout"),
                Optional.of("payments.billing.svc.clusterset.local"), 200);
        assertThat(l).isEqualTo(new RequestLabels("ingress", "alpha", "beta", "alpha.acme.internal",
                "payments.billing.svc.clusterset.local", 200));
    }

    @Test
    void egressNamesThisClusterAndTheOneTheEgressChose() {
        RequestLabels l = beta.egress(Optional.of(SpiffeId.parse("spiffe://beta.acme.internal/ns/shop/sa/cart")),
                Optional.of("gamma"), Optional.of("ledger.billing.svc.clusterset.local"), 502);
        assertThat(l).isEqualTo(new RequestLabels("egress", "beta", "gamma", "beta.acme.internal",
                "ledger.billing.svc.clusterset.local", 502));
        assertThat(beta.egress(Optional.empty(), Optional.empty(), Optional.empty(), 404))
                .isEqualTo(new RequestLabels("egress", "beta", "unknown", "other", "unknown", 404));
    }

    @Test
    void unknownTrustDomainsClustersAndTheServicesBeyondTheCapCollapse() {
        RequestLabels foreign = beta.ingress(SpiffeId.parse("spiffe://evil.example/ns/x/sa/y"), Optional.empty(), 403);
        assertThat(foreign.sourceCluster()).isEqualTo("unknown");
        assertThat(foreign.sourceTrustDomain()).isEqualTo("other");
        assertThat(beta.egress(Optional.empty(), Optional.of("made-up"), Optional.empty(), 200).destinationCluster())
                .isEqualTo("unknown");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ProxyMetrics metrics = new ProxyMetrics(registry);
        SpiffeId caller = SpiffeId.parse("spiffe://alpha.acme.internal/ns/shop/sa/checkout");
        for (int i = 0; i < 1000; i++) {
            metrics.request(beta.ingress(caller, Optional.of("s" + i + ".ns.svc.clusterset.local"), 200), System.nanoTime());
        }
        assertThat(registry.find("isthmus_requests_total").counters()).as("3 names, then other").hasSize(4);
        assertThat(registry.find("isthmus_requests_total").tag("destination_service", "other").counter()
                .count()).isEqualTo(997);
    }

    @Test
    void labelsRefuseWhatIsNoStatusOrDirection() {
        assertThatThrownBy(() -> new RequestLabels("sideways", "a", "b", "t", "s", 200)).hasMessageContaining("sideways");
        assertThatThrownBy(() -> new RequestLabels("ingress", "a", "b", "t", "s", 999)).hasMessageContaining("999");
        assertThatThrownBy(() -> new ClusterDirectory("delta", Map.of(TrustDomain.parse("a.x"), "alpha"), 5))
                .hasMessageContaining("delta");
    }
}
