package io.isthmus.gateway.proxy;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;

/** A config mapping read from given keys (plus a trust domain and one peer), as the gateway reads it at startup. */
final class TestConfig {
    private TestConfig() {
    }

    static <T> T mapping(Class<T> type, Map<String, String> extra) {
        Map<String, String> keys = new HashMap<>(Map.of("isthmus.trust-domain", "a.acme.internal",
                "isthmus.peers.b.trust-domain", "b.acme.internal",
                "isthmus.peers.b.bundle-endpoint-url", "https://gw-b.example:8443/"));
        keys.putAll(extra);
        return new SmallRyeConfigBuilder().addDefaultInterceptors().withValidateUnknown(false)
                .withConverter(Duration.class, 200, new DurationConverter())
                .withSources(new PropertiesConfigSource(keys, "test", 500)).withMapping(type).build()
                .getConfigMapping(type);
    }
}
