package io.isthmus.registry.xsite;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.tls.PeerPolicy;

/**
 * Who may be a member of a site's local cluster: a peer whose SVID verifies and names exactly this gateway's own
 * SPIFFE ID (every replica of a cluster runs as the same gateway identity). A member reads and writes every
 * replicated cache, and not every entry there is signed (the replicas' public JWT keys, which the bundle publishes;
 * join tokens; VM identities), so admitting the whole trust domain let any workload of it that could reach the local
 * port publish a JWT key of its own, and forge JWT-SVIDs that every federated peer accepts (LocalClusterTest). Pure.
 */
final class ReplicaAdmission {
    private ReplicaAdmission() {
    }

    /** The local cluster's TLS peer check at the handshake. */
    static PeerPolicy policy(SpiffeId gateway) {
        return PeerPolicy.exactly(gateway);
    }

    /** The same rule applied to an established connection's verdict (the re-check after the bundles changed). */
    static SvidVerdict judge(SpiffeId gateway, SvidVerdict verdict) {
        if (verdict instanceof SvidVerdict.Verified v && policy(gateway).check(v.id()) != null) {
            return new SvidVerdict.Rejected(SvidRejection.UNEXPECTED_ID,
                    "replica peer " + v.id() + " is not this cluster's gateway identity " + gateway);
        }
        return verdict;
    }
}
