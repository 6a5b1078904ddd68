package io.isthmus.registry;

import java.util.Objects;

/** Where a cluster runs, as Kubernetes topology labels name it: region and zone. Empty strings when unknown. */
public record Locality(String region, String zone) {
    public static final Locality UNKNOWN = new Locality("", "");

    public Locality {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(zone, "zone");
    }

    /** 0 same zone, 1 same region, 2 elsewhere (or unknown): lower is nearer. */
    public int distanceTo(Locality other) {
        if (!region.isEmpty() && region.equals(other.region)) {
            return !zone.isEmpty() && zone.equals(other.zone) ? 0 : 1;
        }
        return 2;
    }
}
