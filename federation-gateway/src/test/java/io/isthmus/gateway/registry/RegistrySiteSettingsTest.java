package io.isthmus.gateway.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.registry.xsite.SiteSettings;
import io.isthmus.trust.spiffe.TrustDomain;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * How the {@code isthmus.registry} keys for the local cluster become {@link SiteSettings}: DNS discovery of the
 * replicas ({@code local-dns-query}) or the static list ({@code local-members}), never both, and the errors name
 * the keys involved.
 */
class RegistrySiteSettingsTest {
    private static final TrustDomain TD = new TrustDomain("aws-east.acme.internal");
    private static final String QUERY = "isthmus-gateway-replicas.isthmus-system.svc.cluster.local";

    private static RegistryConfig config(Map<String, String> keys) {
        return new SmallRyeConfigBuilder().addDefaultInterceptors().withValidateUnknown(false)
                .withConverter(Duration.class, 200, new DurationConverter())
                .withSources(new PropertiesConfigSource(keys, "test", 500))
                .withMapping(RegistryConfig.class).build().getConfigMapping(RegistryConfig.class);
    }

    private static SiteSettings settings(Map<String, String> keys) {
        return RegistryService.siteSettings(config(keys), "aws-east", TD);
    }

    @Test
    void aDnsQueryDiscoversTheReplicasOnTheLocalPort() {
        SiteSettings s = settings(Map.of("isthmus.registry.local-dns-query", QUERY, "isthmus.registry.local-port", "7800",
                "isthmus.registry.bind-host", "10.4.0.7"));
        assertThat(s.localDnsQuery()).contains(QUERY);
        assertThat(s.localMembers()).isEmpty();
        assertThat(s.localPort()).isEqualTo(7800);
        assertThat(s.bindHost()).isEqualTo("10.4.0.7");
    }

    @Test
    void staticMembersStayTheDefault() {
        SiteSettings s = settings(Map.of("isthmus.registry.local-members", "10.4.0.7:7800,10.4.0.8:7800"));
        assertThat(s.localDnsQuery()).isEmpty();
        assertThat(s.localMembers()).hasSize(2);
    }

    @Test
    void bothDiscoveryKeysAreRefusedNamingBoth() {
        assertThatThrownBy(() -> settings(Map.of("isthmus.registry.local-dns-query", QUERY,
                "isthmus.registry.local-members", "10.4.0.7:7800")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("isthmus.registry.local-dns-query")
                .hasMessageContaining("isthmus.registry.local-members");
    }

    @Test
    void aDnsQueryNeedsAFixedLocalPort() {
        assertThatThrownBy(() -> settings(Map.of("isthmus.registry.local-dns-query", QUERY, "isthmus.registry.local-port", "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("isthmus.registry.local-port")
                .hasMessageContaining("isthmus.registry.local-dns-query");
    }

    @Test
    void aQueryThatIsNoDnsNameIsRefusedNamingTheKey() {
        assertThatThrownBy(() -> settings(Map.of("isthmus.registry.local-dns-query", "dns:///replicas:7800")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("isthmus.registry.local-dns-query")
                .hasMessageContaining("is not a DNS name");
    }

    @Test
    void registryTimingsComeFromTheirKeysWithWanDefaults() {
        io.isthmus.registry.xsite.ChannelFactory.Timing t = RegistryService.timing(config(Map.of(
                "isthmus.registry.failure-detection.timeout", "30s", "isthmus.registry.backup-timeout", "5s")));
        assertThat(t.failureTimeoutMillis()).isEqualTo(30_000);
        assertThat(t.backupTimeoutMillis()).isEqualTo(5_000);
        assertThat(t.failureIntervalMillis()).isEqualTo(4_000);
        assertThat(t.localJoinTimeoutMillis()).isEqualTo(2_000);
        assertThat(t.bridgeJoinTimeoutMillis()).isEqualTo(2_000);
        assertThat(t.verifySuspectMillis()).isEqualTo(1_000);
    }

    @Test
    void aBadTimingIsRefusedNamingItsKey() {
        assertThatThrownBy(() -> RegistryService.timing(config(Map.of("isthmus.registry.failure-detection.interval",
                "15s"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("configuration isthmus.registry.failure-detection.interval: ")
                .hasMessageContaining("(15000 ms) must be at most half of failure-detection.timeout (20000 ms)");
        assertThatThrownBy(() -> RegistryService.timing(config(Map.of("isthmus.registry.backup-timeout", "0s"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("isthmus.registry.backup-timeout: backup-timeout is 0 ms");
    }
}
