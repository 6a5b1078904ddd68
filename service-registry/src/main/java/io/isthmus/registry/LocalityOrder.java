package io.isthmus.registry;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * The routing order of a service's exports: only routable ones (lease held, endpoints ready), same zone first,
 * then same region, then the rest; ties broken by cluster name so every gateway picks alike. Pure.
 */
public final class LocalityOrder {
    private LocalityOrder() {
    }

    public static List<ExportedService> rank(List<ExportedService> exports, Locality from, Instant now) {
        return exports.stream()
                .filter(e -> e.routable(now))
                .sorted(Comparator.<ExportedService>comparingInt(e -> from.distanceTo(e.locality()))
                        .thenComparing(e -> e.key().cluster()))
                .toList();
    }
}
