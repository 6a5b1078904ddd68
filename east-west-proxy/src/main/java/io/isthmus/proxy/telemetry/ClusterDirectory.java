package io.isthmus.proxy.telemetry;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Turns what a request carries (a caller's SPIFFE ID, the cluster an egress chose, a mesh name) into
 * {@link RequestLabels} from bounded sets: clusters and trust domains known from configuration, and at most
 * {@code maxServices} distinct service labels. Thread-safe; the hot path does map lookups only (and one insertion per
 * new service name until the cap).
 */
public final class ClusterDirectory {
    public static final String UNKNOWN = "unknown";
    public static final String OTHER = "other";

    private final String ownCluster;
    private final Map<TrustDomain, String> clusterByTrustDomain;
    private final Set<String> clusters;
    private final int maxServices;
    private final Set<String> services = ConcurrentHashMap.newKeySet();
    /**
     * The last local caller's trust domain found in the map: nearly every egress request comes from this cluster's
     * own trust domain, and one equals() is cheaper than the map probe. Racy by design (any known domain is right).
     */
    private volatile TrustDomain lastCallerDomain;

    /**
     * @param clusterByTrustDomain every cluster of the federation (this one included) by its trust domain
     * @param maxServices          distinct {@code destination_service} values before new ones become {@code other}
     */
    public ClusterDirectory(String ownCluster, Map<TrustDomain, String> clusterByTrustDomain, int maxServices) {
        this.ownCluster = Objects.requireNonNull(ownCluster, "ownCluster");
        this.clusterByTrustDomain = Map.copyOf(clusterByTrustDomain);
        this.clusters = Set.copyOf(this.clusterByTrustDomain.values());
        if (!clusters.contains(ownCluster)) {
            throw new IllegalArgumentException("this cluster " + ownCluster + " is missing from the trust domain map "
                    + clusterByTrustDomain);
        }
        if (maxServices < 1) {
            throw new IllegalArgumentException("isthmus.telemetry.max-service-labels must be at least 1, got "
                    + maxServices);
        }
        this.maxServices = maxServices;
    }

    /** Knows no cluster: every label names {@code unknown} (or {@code other}); mesh names are still capped. */
    public static ClusterDirectory unconfigured() {
        return new ClusterDirectory(UNKNOWN, Map.of(TrustDomain.parse("unknown.invalid"), UNKNOWN), 500);
    }

    public String ownCluster() {
        return ownCluster;
    }

    /** At this gateway's ingress: a peer's caller into this cluster. */
    public RequestLabels ingress(SpiffeId caller, Optional<String> meshName, int code) {
        TrustDomain td = caller.trustDomain();
        return new RequestLabels("ingress", clusterByTrustDomain.getOrDefault(td, UNKNOWN), ownCluster,
                clusterByTrustDomain.containsKey(td) ? td.name() : OTHER, service(meshName), code);
    }

    /**
     * At this gateway's ingress, a passthrough connection: its TLS ends at the workload, so the caller (and with it
     * the source cluster and trust domain) is not known here.
     */
    public RequestLabels ingressUnseenCaller(Optional<String> meshName, int code) {
        return new RequestLabels("ingress", UNKNOWN, ownCluster, OTHER, service(meshName), code);
    }

    /**
     * At this gateway's egress: a local caller out to {@code destinationCluster} (the export the egress chose; empty
     * when none was, e.g. an unknown name).
     */
    public RequestLabels egress(Optional<SpiffeId> caller, Optional<String> destinationCluster,
            Optional<String> meshName, int code) {
        String source = OTHER;
        if (caller.isPresent()) {
            TrustDomain td = caller.get().trustDomain();
            if (td.equals(lastCallerDomain)) {
                source = td.name();
            } else if (clusterByTrustDomain.containsKey(td)) {
                lastCallerDomain = td;
                source = td.name();
            }
        }
        String destination = UNKNOWN;
        if (destinationCluster.isPresent() && clusters.contains(destinationCluster.get())) {
            destination = destinationCluster.get();
        }
        return new RequestLabels("egress", ownCluster, destination, source, service(meshName), code);
    }

    /**
     * The mesh name a request's {@code destination_service} label may carry: only a name that some cluster exports
     * (at the egress) or this cluster serves (at the ingress). The labels are capped, first come first served, so
     * names nobody exports, which any caller can make up by the hundred, would otherwise take every label and leave
     * real services counted as {@code other}. Pure.
     *
     * @param name   the mesh name the request asked for, or null when it named none
     * @param known  whether the exchange already found the name exported or served (TRUE / FALSE), or null when it
     *               did not look (a request refused before routing)
     * @param lookUp asked only when {@code known} is null: whether the name is exported or served
     */
    public static Optional<String> labelledService(String name, Boolean known, BooleanSupplier lookUp) {
        if (name == null) {
            return Optional.empty();
        }
        boolean exported = known != null ? known : lookUp.getAsBoolean();
        return exported ? Optional.of(name) : Optional.empty();
    }

    private String service(Optional<String> meshName) {
        if (meshName.isEmpty()) {
            return UNKNOWN;
        }
        String name = meshName.get();
        if (services.contains(name)) {
            return name;
        }
        // The cap may be overshot by a few concurrent first sightings; it still bounds the set.
        if (services.size() < maxServices) {
            services.add(name);
            return name;
        }
        return OTHER;
    }
}
