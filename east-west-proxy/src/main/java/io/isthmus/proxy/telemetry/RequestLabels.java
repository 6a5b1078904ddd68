package io.isthmus.proxy.telemetry;

import java.util.Objects;

/**
 * The labels every request metric and access-log line carries, each from a bounded set so that Prometheus series
 * stay bounded whatever the traffic ({@link ClusterDirectory} maps open-ended inputs onto these sets):
 *
 * <ul>
 * <li>{@code source_cluster}, {@code destination_cluster}: cluster names from configuration (this cluster and its
 * peers), {@code unknown} when a trust domain or export names no configured cluster;</li>
 * <li>{@code source_trust_domain}: the caller's trust domain if it is federated, else {@code other};</li>
 * <li>{@code destination_service}: the mesh name, among the first {@code isthmus.telemetry.max-service-labels}
 * distinct names seen (default 500), then {@code other}; {@code unknown} for a request that named none;</li>
 * <li>{@code code}: the HTTP status (1xx-5xx; a CONNECT tunnel or TCP-listener connection that stands is a 200, an
 * upgrade a 101), {@code 0} for a request that got no response.</li>
 * </ul>
 *
 * Series per gateway are at most directions (2) x clusters^2 x trust domains x services x codes in use, and in
 * practice one source per destination: with 5 clusters, 500 services and 10 codes, under 50,000; the caller's SPIFFE
 * ID, which is unbounded (one per workload), is deliberately not a label: it is in the access log.
 */
public record RequestLabels(String direction, String sourceCluster, String destinationCluster,
        String sourceTrustDomain, String destinationService, int code) {

    public RequestLabels {
        Objects.requireNonNull(direction, "direction");
        Objects.requireNonNull(sourceCluster, "sourceCluster");
        Objects.requireNonNull(destinationCluster, "destinationCluster");
        Objects.requireNonNull(sourceTrustDomain, "sourceTrustDomain");
        Objects.requireNonNull(destinationService, "destinationService");
        if (!direction.equals("ingress") && !direction.equals("egress")) {
            throw new IllegalArgumentException("direction '" + direction + "' is not ingress or egress");
        }
        if (code != 0 && (code < 100 || code > 599)) {
            throw new IllegalArgumentException("code " + code + " is not an HTTP status (or 0 for none)");
        }
    }
}
