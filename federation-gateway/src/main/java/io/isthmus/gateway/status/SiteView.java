package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One peer site of the cross-site bridge.
 *
 * @param connected  whether the bridge's site view holds it now
 * @param lastUpdate when an update from it last reached this gateway (its heartbeats renew its entries' leases)
 * @param lastHeartbeat the newest heartbeat stamp among its entries, by its own clock
 */
public record SiteView(String name, String trustDomain, boolean connected, Optional<Instant> lastUpdate,
        Optional<Instant> lastHeartbeat) {
    public SiteView {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(lastUpdate, "lastUpdate");
        Objects.requireNonNull(lastHeartbeat, "lastHeartbeat");
    }
}
