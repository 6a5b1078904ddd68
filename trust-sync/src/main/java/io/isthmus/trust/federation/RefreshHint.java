package io.isthmus.trust.federation;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What a bundle refresh hint may cause: a pull of the named peer's bundle from the endpoint configured for that
 * peer, and nothing else. A hint is unauthenticated on purpose (anyone who can reach the bundle endpoint may send
 * one): it carries no key material, and what the pull brings in is validated exactly as a scheduled poll's result.
 * So a forged hint costs at most one extra pull per peer per {@code minGap}. Pure; thread-safe.
 */
public final class RefreshHint {
    /** Path of the hint on the bundle endpoint: {@code POST /v1/bundle-refresh-hint?trust_domain=<td>}. */
    public static final String PATH = "/v1/bundle-refresh-hint";

    private RefreshHint() {
    }

    /** Why a hint was refused; it causes nothing then. */
    public enum Rejection {
        MALFORMED_TRUST_DOMAIN("malformed-trust-domain", 400),
        NOT_A_PEER("not-a-peer", 404);

        private final String code;
        private final int status;

        Rejection(String code, int status) {
            this.code = code;
            this.status = status;
        }

        public String code() {
            return code;
        }

        public int status() {
            return status;
        }
    }

    /** The outcome of one hint. */
    public sealed interface Verdict {
        /** Pull the peer's bundle now. */
        record Pull(TrustDomain peer) implements Verdict {
        }

        /** A hinted pull of this peer ran less than the minimum gap ago: nothing happens; try again later. */
        record Throttled(TrustDomain peer, Duration retryAfter) implements Verdict {
        }

        record Refused(Rejection reason, String detail) implements Verdict {
        }
    }

    /**
     * @param requested the trust domain the hint names, as sent (may be anything)
     * @param peers the trust domains this gateway federates with (its own is never among them)
     * @param lastHintedPull when a hint last caused a pull of {@code requested}, if ever
     * @param minGap the least time between two hinted pulls of one peer
     */
    public static Verdict decide(String requested, Set<TrustDomain> peers, Optional<Instant> lastHintedPull,
            Instant now, Duration minGap) {
        if (requested == null || requested.isEmpty()) {
            return new Verdict.Refused(Rejection.MALFORMED_TRUST_DOMAIN, "a refresh hint names the trust domain "
                    + "whose bundle changed: POST " + PATH + "?trust_domain=<trust domain>");
        }
        TrustDomain td;
        try {
            td = TrustDomain.parse(requested);
        } catch (IllegalArgumentException e) {
            return new Verdict.Refused(Rejection.MALFORMED_TRUST_DOMAIN, "trust_domain \"" + requested
                    + "\" is not a trust domain name (" + e.getMessage() + ")");
        }
        if (!peers.contains(td)) {
            return new Verdict.Refused(Rejection.NOT_A_PEER, "trust domain " + td + " is not a federated peer of "
                    + "this gateway (peers: " + peers.stream().map(TrustDomain::name).sorted().toList()
                    + "); a hint only makes a gateway pull a peer's bundle from that peer's own endpoint");
        }
        if (lastHintedPull.isPresent()) {
            Instant allowed = lastHintedPull.get().plus(minGap);
            if (now.isBefore(allowed)) {
                return new Verdict.Throttled(td, Duration.between(now, allowed));
            }
        }
        return new Verdict.Pull(td);
    }
}
