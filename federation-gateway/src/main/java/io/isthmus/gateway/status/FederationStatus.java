package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What one gateway reports about itself and its view of the federation, as served read-only on the management port
 * ({@code GET /federation/api/status}) to the federation page and to {@code isthmus check}. Facts only: judging them
 * (what is healthy, what to fix) is the checker's job ({@code io.isthmus.gateway.check}), so the page and the CLI
 * agree on the facts and the CLI can be improved without a gateway upgrade.
 *
 * @param time        the gateway's clock when the report was made (its injected {@link java.time.Clock})
 * @param authorities every CA this gateway relies on and its expiry, for people (the PEMs are for verification)
 */
public record FederationStatus(String cluster, String trustDomain, Instant time, String version, SelfView self,
        List<PeerView> peers, List<CaView> authorities, RegistryView registry, List<PolicySourceView> policySources,
        List<DenialView> recentDenials) {

    public FederationStatus {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(self, "self");
        peers = List.copyOf(peers);
        authorities = List.copyOf(authorities);
        Objects.requireNonNull(registry, "registry");
        policySources = List.copyOf(policySources);
        recentDenials = List.copyOf(recentDenials);
    }
}
