package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;

/** One cluster's export of a service: no identities or addresses (the page shows where, not who or how to reach). */
public record ExportRow(String cluster, String meshName, int readyEndpoints, Instant heartbeat, long leaseSeconds,
        boolean stale, boolean routable) {
    public ExportRow {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(meshName, "meshName");
        Objects.requireNonNull(heartbeat, "heartbeat");
    }
}
