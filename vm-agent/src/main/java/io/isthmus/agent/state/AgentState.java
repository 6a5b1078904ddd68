package io.isthmus.agent.state;

import java.net.URI;
import java.util.Objects;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;

/**
 * Everything the agent holds at one instant: its SVID (key and chain), the federation's bundles, and the gateway
 * it enrolled with. Replaced whole on renewal or bundle refresh; readers take one snapshot.
 */
public record AgentState(URI gateway, TrustDomain trustDomain, X509Svid svid, BundleSet bundles) {
    public AgentState {
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(svid, "svid");
        Objects.requireNonNull(bundles, "bundles");
        if (!svid.id().memberOf(trustDomain)) {
            throw new IllegalArgumentException("SVID " + svid.id() + " is not in the agent's trust domain " + trustDomain);
        }
    }

    public AgentState withSvid(X509Svid next, BundleSet nextBundles) {
        return new AgentState(gateway, trustDomain, next, nextBundles);
    }

    public AgentState withBundles(BundleSet next) {
        return new AgentState(gateway, trustDomain, svid, next);
    }
}
