package io.isthmus.gateway.check;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.isthmus.gateway.status.ExportRow;
import io.isthmus.gateway.status.RegistryView;
import io.isthmus.gateway.status.SiteView;

/** The registry's cross-site bridge and the freshness of its entries. Pure. */
final class RegistryChecks {
    static final String BRIDGE = "bridge";
    static final String STALE = "stale-entries";

    private RegistryChecks() {
    }

    static List<CheckResult> bridges(RegistryView r, Instant now) {
        List<CheckResult> results = new ArrayList<>();
        if (!r.replicated()) {
            results.add(CheckResult.pass(BRIDGE, "", "replication is off (isthmus.registry.enabled=false): this"
                    + " gateway sees only its own exports"));
            return results;
        }
        for (SiteView site : r.sites()) {
            String lag = site.lastUpdate().map(t -> "last update " + Durations.human(Duration.between(t, now)) + " ago")
                    .orElse("no update from it yet");
            if (!site.connected()) {
                results.add(CheckResult.fail(BRIDGE, site.name(), "site " + site.name() + " (" + site.trustDomain()
                        + ") is not connected to this gateway's bridge; " + lag + ", so its exports go stale here",
                        "check that the bridge port of " + site.name() + " (isthmus.registry.peers." + site.name()
                                + ".bridge-addresses) is reachable both ways and that its gateway runs"));
            } else {
                results.add(CheckResult.pass(BRIDGE, site.name(), "connected, " + lag));
            }
        }
        return results;
    }

    static List<CheckResult> stale(RegistryView r, Instant now) {
        if (r.staleEntries().isEmpty()) {
            return List.of(CheckResult.pass(STALE, "", r.services().size() + " mesh name(s), no entry with a lapsed"
                    + " lease"));
        }
        Map<String, List<ExportRow>> byCluster = new LinkedHashMap<>();
        for (ExportRow e : r.staleEntries()) {
            byCluster.computeIfAbsent(e.cluster(), c -> new ArrayList<>()).add(e);
        }
        List<CheckResult> results = new ArrayList<>();
        byCluster.forEach((cluster, entries) -> {
            ExportRow newest = entries.stream().max((a, b) -> a.heartbeat().compareTo(b.heartbeat())).orElseThrow();
            Duration since = Duration.between(newest.heartbeat().plusSeconds(newest.leaseSeconds()), now);
            results.add(CheckResult.fail(STALE, cluster, entries.size() + " entr" + (entries.size() == 1 ? "y" : "ies")
                    + " of " + cluster + " not routed to, lease lapsed " + Durations.human(since) + " ago: "
                    + entries.stream().map(ExportRow::meshName).toList(), "the gateway of " + cluster + " stopped"
                    + " renewing them (it is down, its bridge to here is cut, or its clock is behind): see the bridge"
                    + " and clock-skew lines"));
        });
        return results;
    }
}
