package io.isthmus.gateway.registry;

import java.util.Map;

import io.isthmus.trust.testing.FreePorts;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Free loopback ports for the registry's local and bridge transports in every {@code @QuarkusTest} (JGroups
 * TCP with static discovery cannot bind port 0).
 */
@QuarkusTestResource(RegistryTestPorts.class)
public class RegistryTestPorts implements QuarkusTestResourceLifecycleManager {
    @Override
    public Map<String, String> start() {
        return Map.of("isthmus.registry.local-port", String.valueOf(FreePorts.next()),
                "isthmus.registry.xsite-port", String.valueOf(FreePorts.next()));
    }

    @Override
    public void stop() {
    }
}
