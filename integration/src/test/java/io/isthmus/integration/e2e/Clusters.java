package io.isthmus.integration.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/** Cluster specs on loopback with free ports, for end-to-end tests. */
public final class Clusters {
    private Clusters() {
    }

    static List<ClusterSpec> onLoopback(Path dir, String... names) {
        List<ClusterSpec> specs = new ArrayList<>();
        for (String name : names) {
            specs.add(new ClusterSpec(name, TrustDomain.parse(name + ".acme.internal"), "127.0.0.1",
                    new ClusterSpec.Ports(FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(),
                            FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next()),
                    dir.resolve(name)));
        }
        return specs;
    }

    /**
     * Writes {@code dir/policies.yaml}: a policy in the default authorization root namespace that lets every cluster's
     * {@code ns/demo/sa/client} call anything (federated traffic is denied otherwise); returns its path, for
     * {@code isthmus.authz.policy-file}.
     */
    public static Path allowDemoClients(Path dir) {
        Path policy = dir.resolve("policies.yaml");
        try {
            Files.createDirectories(dir);
            Files.writeString(policy, """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: demo-clients, namespace: isthmus-system}
                    spec:
                      action: ALLOW
                      rules:
                      - from:
                        - source: {principals: ["*/ns/demo/sa/client"]}
                    """);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return policy;
    }

    /** Stops a VM agent process, if any (SIGTERM as systemd does, then killed after 10 s), then the rest, last first. */
    static void stopAll(Process agent, List<AutoCloseable> closeables) throws Exception {
        if (agent != null) {
            agent.destroy();
            if (!agent.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                agent.destroyForcibly();
            }
        }
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    /** The packaged gateway; fails when it is missing or older than its modules' sources ({@link PackagedJars}). */
    static Path appJar() {
        return PackagedJars.gateway();
    }
}
