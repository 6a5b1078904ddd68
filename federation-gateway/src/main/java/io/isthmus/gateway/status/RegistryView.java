package io.isthmus.gateway.status;

import java.util.List;
import java.util.Objects;

/**
 * The registry as this gateway holds it: the cross-site bridge to each peer site, the entries whose lease lapsed,
 * and every mesh name with where it is exported and the order a call from here would try the clusters in.
 *
 * @param replicated false when this gateway runs without cross-site replication
 */
public record RegistryView(String site, boolean replicated, List<SiteView> sites, List<ExportRow> staleEntries,
        List<ServiceRow> services) {
    public RegistryView {
        Objects.requireNonNull(site, "site");
        sites = List.copyOf(sites);
        staleEntries = List.copyOf(staleEntries);
        services = List.copyOf(services);
    }
}
