package io.isthmus.trust.membership;

import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * One cluster of the federation as the membership document describes it.
 *
 * @param name the cluster's name, also its registry site name
 * @param trustDomain its SPIFFE trust domain
 * @param bundleEndpoint its SPIFFE bundle endpoint ({@code https_spiffe}); membership is gossiped next to it
 * @param bridgeAddresses where its registry bridge is reachable, one per replica that can be site master; empty
 *     when it does not replicate a registry
 * @param ingressAddress where its east-west ingress is reachable
 * @param gatewayIds the SPIFFE IDs its gateways present: the only identities of its trust domain that may vouch for
 *     a caller; each in {@code trustDomain}, at least one
 * @param region where it runs (may be empty)
 * @param zone where it runs (may be empty)
 */
public record Member(String name, TrustDomain trustDomain, URI bundleEndpoint, List<HostPort> bridgeAddresses,
        HostPort ingressAddress, List<SpiffeId> gatewayIds, String region, String zone) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][-A-Za-z0-9_.]{0,62}");

    public Member {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "member name '" + name
                    + "' must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit");
        }
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(bundleEndpoint, "bundleEndpoint");
        if (!"https".equals(bundleEndpoint.getScheme()) || bundleEndpoint.getHost() == null) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "member " + name + ": bundle endpoint '"
                    + bundleEndpoint + "' must be an https:// URL with a host (https_spiffe profile)");
        }
        bridgeAddresses = List.copyOf(bridgeAddresses);
        Objects.requireNonNull(ingressAddress, "ingressAddress");
        gatewayIds = List.copyOf(gatewayIds);
        if (gatewayIds.isEmpty()) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "member " + name
                    + " lists no gateway identity; list at least one, e.g. spiffe://" + trustDomain
                    + "/ns/isthmus-system/sa/isthmus-gateway");
        }
        for (SpiffeId id : gatewayIds) {
            if (!id.memberOf(trustDomain)) {
                throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "member " + name + ": gateway identity "
                        + id + " is not in its trust domain " + trustDomain);
            }
        }
        region = region == null ? "" : region;
        zone = zone == null ? "" : zone;
    }
}
