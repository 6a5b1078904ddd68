package io.isthmus.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.outlier.OutlierPolicy;
import io.isthmus.trust.endpoint.ConnectionLimits;

/**
 * The data plane's limits as the gateway reads them (issue 14): bodies stream without a size limit unless one is set,
 * and the outlier policy comes from {@code isthmus.proxy.outlier.*}; a bad value fails startup naming its key.
 */
class DataPlaneConfigTest {
    private static ProxySettings settings(Map<String, String> keys) {
        return ProxyService.settings(TestConfig.mapping(ProxyConfig.class, keys));
    }

    @Test
    void byDefaultBodiesHaveNoLimitAndAClusterIsSkippedAfterThreeFailedConnects() {
        ProxySettings s = settings(Map.of());
        assertThat(s.maxBodySize()).isZero();
        assertThat(s.outliers()).isEqualTo(new OutlierPolicy(3, Duration.ofSeconds(10), Duration.ofMinutes(2)));
    }

    @Test
    void configuredValuesAreUsed() {
        ProxySettings s = settings(Map.of("isthmus.proxy.max-body-size", "5368709120",
                "isthmus.proxy.outlier.consecutive-failures", "5", "isthmus.proxy.outlier.base-ejection", "30s",
                "isthmus.proxy.outlier.max-ejection", "10m"));
        assertThat(s.maxBodySize()).isEqualTo(5L << 30);
        assertThat(s.outliers()).isEqualTo(new OutlierPolicy(5, Duration.ofSeconds(30), Duration.ofMinutes(10)));
    }

    @Test
    void badOutlierValuesNameTheirKey() {
        assertThatThrownBy(() -> settings(Map.of("isthmus.proxy.outlier.consecutive-failures", "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("configuration isthmus.proxy.outlier.consecutive-failures: must be at least 1");
        assertThatThrownBy(() -> settings(Map.of("isthmus.proxy.outlier.base-ejection", "0s")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("configuration isthmus.proxy.outlier.base-ejection: must be positive");
        assertThatThrownBy(() -> settings(Map.of("isthmus.proxy.outlier.max-ejection", "1s")))
                .isInstanceOf(ConfigException.class).hasMessage("configuration isthmus.proxy.outlier.max-ejection: "
                        + "PT1S is shorter than isthmus.proxy.outlier.base-ejection PT10S");
        assertThatThrownBy(() -> settings(Map.of("isthmus.proxy.max-body-size", "-1")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("configuration isthmus.proxy.max-body-size: must not be negative (0 means no limit), was -1");
    }

    /**
     * The connection limits of the ingress and the egress: by default 512 per client and 4,096 in all at the ingress,
     * a generous 2,048 of 8,192 at the egress (many pods behind one node address); each names its own settings.
     */
    @Test
    void connectionLimitsPerListenerKind() {
        ProxySettings s = settings(Map.of());
        assertThat(s.ingressConnections()).isEqualTo(
                new ConnectionLimits("isthmus.proxy.ingress", 512, 4096, Duration.ofMinutes(1)));
        assertThat(s.egressConnections()).isEqualTo(
                new ConnectionLimits("isthmus.proxy.egress", 2048, 8192, Duration.ofMinutes(1)));
        assertThat(s.ingressConnections()).isEqualTo(ProxySettings.DEFAULT_INGRESS_CONNECTIONS);
        assertThat(s.egressConnections()).isEqualTo(ProxySettings.DEFAULT_EGRESS_CONNECTIONS);

        ProxySettings set = settings(Map.of("isthmus.proxy.ingress.max-connections-per-client", "32",
                "isthmus.proxy.ingress.max-connections", "1000", "isthmus.proxy.egress.max-connections-per-client",
                "20000", "isthmus.proxy.egress.max-connections", "20000"));
        assertThat(set.ingressConnections().perClient()).isEqualTo(32);
        assertThat(set.ingressConnections().total()).isEqualTo(1000);
        assertThat(set.egressConnections().perClient()).as("per client off: as many as in all").isEqualTo(20000);
        assertThat(set.egressConnections().total()).isEqualTo(20000);
    }

    @Test
    void badConnectionLimitsNameTheirKey() {
        assertThatThrownBy(() -> settings(Map.of("isthmus.proxy.ingress.max-connections-per-client", "0")))
                .isInstanceOf(ConfigException.class).hasMessage("configuration isthmus.proxy.ingress: "
                        + "isthmus.proxy.ingress.max-connections-per-client is 0, expected 1 or more");
        assertThatThrownBy(() -> settings(Map.of("isthmus.proxy.egress.max-connections", "100")))
                .isInstanceOf(ConfigException.class).hasMessage("configuration isthmus.proxy.egress: "
                        + "isthmus.proxy.egress.max-connections is 100, expected at least max-connections-per-client "
                        + "(2048)");
    }
}
