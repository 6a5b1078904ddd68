package io.isthmus.integration.e2e;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.support.Repo;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/** Cluster specs on loopback with free ports, for end-to-end tests. */
final class Clusters {
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

    static Path appJar() {
        return Repo.root().resolve("federation-gateway/target/quarkus-app/quarkus-run.jar");
    }
}
