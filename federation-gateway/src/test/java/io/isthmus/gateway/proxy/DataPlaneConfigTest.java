package io.isthmus.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.outlier.OutlierPolicy;

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
}
