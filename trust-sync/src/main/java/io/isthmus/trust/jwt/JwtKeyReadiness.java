package io.isthmus.trust.jwt;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Whether a JWT key may sign yet: only once every federated peer can know it, so that no token reaches a peer
 * before the key that verifies it. A peer knows a key when it said so in answer to a refresh hint (over TLS
 * authenticated by its SVID), or when the key has been published for {@code window}: a peer polls the bundle at
 * its refresh hint, so within one hint plus one fetch timeout every peer that can reach us has pulled it. With no
 * peers, a key is ready at once. Pure; thread-safe.
 */
public final class JwtKeyReadiness {
    private JwtKeyReadiness() {
    }

    public enum Why {
        NO_PEERS, CONFIRMED_BY_EVERY_PEER, PUBLISHED_FOR_A_WHOLE_REFRESH
    }

    public sealed interface Verdict {
        record Ready(Why why) implements Verdict {
        }

        /** Peers in {@code unconfirmed} may not hold the key yet; it is ready by {@code readyBy} at the latest. */
        record NotYet(String keyId, List<TrustDomain> unconfirmed, Instant readyBy) implements Verdict {
            public NotYet {
                unconfirmed = List.copyOf(unconfirmed);
            }

            public String describe() {
                return "JWT key " + keyId + " is not yet known to federated peer(s) "
                        + unconfirmed.stream().map(TrustDomain::name).toList() + "; it signs once they confirm it "
                        + "(they are hinted to refresh our bundle) or at " + readyBy + " at the latest";
            }
        }
    }

    /**
     * @param publishedSince when this gateway first published {@code keyId} (this process's observation)
     * @param window the longest a reachable peer may take to pull a published key unprompted
     * @param peers the trust domains federated now
     * @param confirmed per peer, the key IDs of ours it said it holds in its latest answer to a hint
     */
    public static Verdict decide(String keyId, Instant publishedSince, Instant now, Duration window,
            Set<TrustDomain> peers, Map<TrustDomain, Set<String>> confirmed) {
        if (peers.isEmpty()) {
            return new Verdict.Ready(Why.NO_PEERS);
        }
        List<TrustDomain> unconfirmed = peers.stream()
                .filter(td -> !confirmed.getOrDefault(td, Set.of()).contains(keyId)).sorted().toList();
        if (unconfirmed.isEmpty()) {
            return new Verdict.Ready(Why.CONFIRMED_BY_EVERY_PEER);
        }
        Instant readyBy = publishedSince.plus(window);
        if (!now.isBefore(readyBy)) {
            return new Verdict.Ready(Why.PUBLISHED_FOR_A_WHOLE_REFRESH);
        }
        return new Verdict.NotYet(keyId, unconfirmed, readyBy);
    }
}
