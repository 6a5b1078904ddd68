package io.isthmus.registry.xsite;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Another cluster of the federation as the cross-site bridge sees it: its site name, the bridge addresses its
 * gateway replicas listen on, and the trust domain its gateways' SVIDs must belong to. This record is the
 * binding between a site name and a trust domain: a bridge peer reached at one of {@code bridgeAddresses} must
 * present an SVID of {@code trustDomain}, and nothing else.
 */
public record PeerSite(String site, List<InetSocketAddress> bridgeAddresses, TrustDomain trustDomain) {
    public PeerSite {
        SiteSettings.requireSiteName(site);
        bridgeAddresses = List.copyOf(bridgeAddresses);
        if (bridgeAddresses.isEmpty()) {
            throw new IllegalArgumentException("peer site '" + site + "' has no bridge address (host:port)");
        }
        Objects.requireNonNull(trustDomain, "trust domain of peer site " + site);
    }
}
