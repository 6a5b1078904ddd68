package io.isthmus.gateway.status;

import java.util.List;
import java.util.Objects;

/**
 * One mesh name: every cluster's export of it, and the clusters a call from this gateway would go to, in order
 * (only routable exports: lease held, endpoints ready; nearest first).
 */
public record ServiceRow(String meshName, List<ExportRow> exports, List<String> routingOrder) {
    public ServiceRow {
        Objects.requireNonNull(meshName, "meshName");
        exports = List.copyOf(exports);
        routingOrder = List.copyOf(routingOrder);
    }
}
