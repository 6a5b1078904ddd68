package io.isthmus.proxy.authz.vouch;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Decides who the caller of a request at the ingress is. Vouching is a gateway's privilege: an asserted caller
 * ({@code x-isthmus-caller}) is accepted only from an mTLS peer that is one of the gateway identities of its trust
 * domain, and only for an identity of that same trust domain. Any other peer is itself the caller, and a vouching
 * header from it is refused: a workload or VM that can reach the ingress must not become another identity of its
 * trust domain by saying so.
 *
 * <p>Pure and thread-safe: no I/O, no Netty types. Every ingress path (HTTP/1.1, HTTP/2 streams, gRPC streams,
 * CONNECT tunnels) asks it once per request, before routing or policy.
 */
public final class VouchingDecision {
    private VouchingDecision() {
    }

    /**
     * @param peer     the SPIFFE ID of the verified mTLS client certificate
     * @param asserted every value of the vouching header on the request (empty when there is none)
     * @param gateways the gateway identities of every federated trust domain
     */
    public static CallerResolution resolve(SpiffeId peer, List<String> asserted, GatewayIdentities gateways) {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(asserted, "asserted");
        Objects.requireNonNull(gateways, "gateways");
        boolean gateway = gateways.isGateway(peer);
        if (!gateway) {
            if (asserted.isEmpty()) {
                return new CallerResolution.Direct(peer);
            }
            Optional<SpiffeId> claimed = asserted.size() == 1 ? SpiffeId.tryParse(asserted.get(0).trim())
                    : Optional.empty();
            return new CallerResolution.Refused(DenyReason.VOUCHING_BY_NON_GATEWAY, peer, claimed.orElse(peer),
                    peer + " asserted the caller " + quote(asserted) + " but is not a gateway of "
                            + peer.trustDomain() + " (gateways: " + sorted(gateways, peer) + "); only a gateway may"
                            + " vouch for a caller. Call without the header to be authorized as " + peer);
        }
        if (asserted.isEmpty()) {
            return new CallerResolution.Refused(DenyReason.MISSING_CALLER_IDENTITY, peer, peer,
                    "peer gateway " + peer + " sent no x-isthmus-caller header; a gateway must say whom it forwards");
        }
        if (asserted.size() > 1) {
            return new CallerResolution.Refused(DenyReason.INVALID_CALLER_IDENTITY, peer, peer,
                    "peer gateway " + peer + " asserted " + asserted.size() + " callers " + quote(asserted)
                            + "; exactly one x-isthmus-caller header is expected");
        }
        Optional<SpiffeId> caller = SpiffeId.tryParse(asserted.get(0).trim());
        if (caller.isEmpty()) {
            return new CallerResolution.Refused(DenyReason.INVALID_CALLER_IDENTITY, peer, peer,
                    "peer gateway " + peer + " asserted '" + asserted.get(0) + "', which is not a SPIFFE ID");
        }
        if (!caller.get().memberOf(peer.trustDomain())) {
            return new CallerResolution.Refused(DenyReason.CALLER_OUTSIDE_PEER_TRUST_DOMAIN, peer, caller.get(),
                    "gateway " + peer + " may vouch only for identities of " + peer.trustDomain() + ", not "
                            + caller.get());
        }
        return new CallerResolution.Vouched(caller.get(), peer);
    }

    private static String quote(List<String> asserted) {
        return asserted.size() == 1 ? "'" + asserted.get(0) + "'" : asserted.toString();
    }

    private static List<String> sorted(GatewayIdentities gateways, SpiffeId peer) {
        return gateways.of(peer.trustDomain()).stream().map(SpiffeId::toString).sorted().toList();
    }
}
