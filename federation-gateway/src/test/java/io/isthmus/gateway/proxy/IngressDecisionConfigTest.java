package io.isthmus.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * How the gateway's configuration becomes the ingress's decisions: which peers may vouch
 * ({@code isthmus.peers.<name>.gateway-ids}, this gateway's own identity) and the path normalization mode. Read
 * through the real config mappings; a bad value names its key.
 */
class IngressDecisionConfigTest {
    private static final TrustDomain A = new TrustDomain("a.acme.internal");
    private static final TrustDomain B = new TrustDomain("b.acme.internal");

    private static <T> T mapping(Class<T> type, Map<String, String> extra) {
        return TestConfig.mapping(type, extra);
    }

    private static GatewayIdentities gateways(Map<String, String> extra) {
        return ProxyService.gateways(mapping(GatewayConfig.class, extra));
    }

    @Test
    void byDefaultEachTrustDomainHasItsConventionalGateway() {
        GatewayIdentities g = gateways(Map.of());
        assertThat(g.of(A)).containsExactly(SpiffeId.parse("spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway"));
        assertThat(g.of(B)).containsExactly(SpiffeId.parse("spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway"));
        assertThat(g.of(new TrustDomain("c.acme.internal"))).isEmpty();
    }

    @Test
    void configuredGatewayIdsReplaceTheDefault() {
        GatewayIdentities g = gateways(Map.of("isthmus.peers.b.gateway-ids",
                "spiffe://b.acme.internal/ns/edge/sa/gw-1, spiffe://b.acme.internal/ns/edge/sa/gw-2",
                "isthmus.identity.namespace", "edge", "isthmus.identity.service-account", "gw"));
        assertThat(g.of(B)).containsExactlyInAnyOrder(SpiffeId.parse("spiffe://b.acme.internal/ns/edge/sa/gw-1"),
                SpiffeId.parse("spiffe://b.acme.internal/ns/edge/sa/gw-2"));
        assertThat(g.isGateway(SpiffeId.parse("spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway"))).isFalse();
        assertThat(g.of(A)).containsExactly(SpiffeId.parse("spiffe://a.acme.internal/ns/edge/sa/gw"));
    }

    @Test
    void aGatewayIdOutsideThePeersTrustDomainFailsStartupNamingTheKey() {
        assertThatThrownBy(() -> gateways(Map.of("isthmus.peers.b.gateway-ids",
                "spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("configuration isthmus.peers.b.gateway-ids: 'spiffe://a.acme.internal/ns/isthmus-system/sa/"
                        + "isthmus-gateway' is not in the peer's trust domain b.acme.internal; list the SPIFFE IDs of b's"
                        + " gateways, e.g. spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        assertThatThrownBy(() -> gateways(Map.of("isthmus.peers.b.gateway-ids", "gw-1")))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("configuration isthmus.peers.b.gateway-ids: ");
    }

    @Test
    void pathNormalizationIsMergeSlashesUnlessConfiguredAndABadModeNamesItsKey() {
        assertThat(ProxyService.paths(mapping(ProxyConfig.class, Map.of())).mode())
                .isEqualTo(PathNormalization.MERGE_SLASHES);
        assertThat(ProxyService.paths(mapping(ProxyConfig.class, Map.of("isthmus.proxy.path-normalization",
                "decode-and-merge-slashes"))).mode()).isEqualTo(PathNormalization.DECODE_AND_MERGE_SLASHES);
        assertThatThrownBy(() -> ProxyService.paths(mapping(ProxyConfig.class,
                Map.of("isthmus.proxy.path-normalization", "strict"))))
                .isInstanceOf(ConfigException.class)
                .hasMessage("configuration isthmus.proxy.path-normalization: path normalization 'strict' is not one of"
                        + " [none, base, merge-slashes, decode-and-merge-slashes]");
    }

    @Test
    void tcpListenersAreReadThroughTheMappingAndABadOneNamesItsKey() {
        Map<String, String> pg = Map.of("isthmus.proxy.tcp-listeners.pg.service", "pg.data.svc.clusterset.local",
                "isthmus.proxy.tcp-listeners.pg.port", "5432",
                "isthmus.proxy.tcp-listeners.pg.plaintext-caller", "spiffe://a.acme.internal/ns/reports/sa/reporting");
        var specs = ProxyService.tcpListenerSpecs(mapping(ProxyConfig.class, pg), A, gateways(Map.of()));
        assertThat(specs).singleElement().satisfies(s -> {
            assertThat(s.route().sni()).isEqualTo("5432.pg.data.svc.clusterset.local");
            assertThat(s.bind().getPort()).isZero();
            assertThat(s.plaintextCaller()).map(Object::toString)
                    .contains("spiffe://a.acme.internal/ns/reports/sa/reporting");
        });
        Map<String, String> asGateway = new HashMap<>(pg);
        asGateway.put("isthmus.proxy.tcp-listeners.pg.plaintext-caller",
                "spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        assertThatThrownBy(() -> ProxyService.tcpListenerSpecs(mapping(ProxyConfig.class, asGateway), A,
                gateways(Map.of()))).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("configuration isthmus.proxy.tcp-listeners.pg.plaintext-caller: "
                        + "spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway is a gateway identity");
    }
}
