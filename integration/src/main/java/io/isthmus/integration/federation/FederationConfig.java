package io.isthmus.integration.federation;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gateway configuration ({@code isthmus.*} and {@code quarkus.*} keys) of each cluster of a local federation:
 * its own CA files, listeners and every other cluster as a peer. Tests and the launcher add or override keys.
 */
public final class FederationConfig {
    private final FederationPki pki;
    private final List<ClusterSpec> clusters;
    private final Duration refreshHint;

    public FederationConfig(FederationPki pki, List<ClusterSpec> clusters, Duration refreshHint) {
        this.pki = pki;
        this.clusters = List.copyOf(clusters);
        this.refreshHint = refreshHint;
    }

    public List<ClusterSpec> clusters() {
        return clusters;
    }

    public ClusterSpec cluster(String name) {
        return clusters.stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no cluster named " + name));
    }

    public Map<String, String> propertiesOf(ClusterSpec self) throws IOException {
        FederationPki.Intermediate intermediate = pki.intermediate(self.trustDomain());
        Map<String, String> p = new LinkedHashMap<>();
        p.put("isthmus.trust-domain", self.trustDomain().name());
        p.put("isthmus.cluster-name", self.name());
        p.put("isthmus.data-dir", self.dataDir().toString());
        p.put("isthmus.ca.root-certificates", pki.rootCertificate().toString());
        p.put("isthmus.ca.intermediate-key", intermediate.key().toString());
        p.put("isthmus.ca.intermediate-chain", intermediate.chain().toString());
        p.put("isthmus.bundle-endpoint.host", self.host());
        p.put("isthmus.bundle-endpoint.port", Integer.toString(self.ports().bundle()));
        p.put("isthmus.bundle-endpoint.refresh-hint", refreshHint.toString());
        p.put("isthmus.bundle-sync.initial-backoff", "500ms");
        p.put("isthmus.bundle-sync.min-refresh", "500ms");
        p.put("quarkus.http.host", self.host());
        p.put("quarkus.http.ssl-port", Integer.toString(self.ports().api()));
        p.put("quarkus.http.port", "0");
        // Registry: this cluster is one Infinispan site; every other cluster a peer site over the TLS bridge.
        p.put("isthmus.registry.site", self.name());
        p.put("isthmus.registry.bind-host", self.host());
        p.put("isthmus.registry.xsite-port", Integer.toString(self.ports().xsite()));
        p.put("isthmus.registry.local-port", Integer.toString(self.ports().local()));
        p.put("isthmus.registry.ingress-address", self.ingressAddress());
        p.put("isthmus.registry.heartbeat-interval", "1s");
        p.put("isthmus.registry.lease-ttl", "15s"); // generous: heartbeats lag on a loaded 2-core CI host
        // Data plane.
        p.put("isthmus.proxy.ingress.host", self.host());
        p.put("isthmus.proxy.ingress.port", Integer.toString(self.ports().ingress()));
        p.put("isthmus.proxy.egress.host", self.host());
        p.put("isthmus.proxy.egress.port", Integer.toString(self.ports().egress()));
        p.put("isthmus.proxy.connect-timeout", "1s");
        p.put("quarkus.management.host", self.host());
        p.put("quarkus.management.port", Integer.toString(self.ports().management()));
        for (ClusterSpec peer : clusters) {
            if (peer.equals(self)) {
                continue;
            }
            p.put("isthmus.peers." + peer.name() + ".trust-domain", peer.trustDomain().name());
            p.put("isthmus.peers." + peer.name() + ".bundle-endpoint-url", peer.bundleEndpointUrl());
            p.put("isthmus.registry.peers." + peer.name() + ".trust-domain", peer.trustDomain().name());
            p.put("isthmus.registry.peers." + peer.name() + ".bridge-addresses", peer.host() + ":" + peer.ports().xsite());
        }
        return p;
    }
}
