package io.isthmus.proxy.authz.audit;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * One line of the decision log, read back and checked by {@link DecisionLogReader}: the request as policy saw it
 * and the verdicts. {@code verdict} is what was enforced; {@code observed} is present in observe mode (what the
 * policies would have decided), {@code dryRun} when dry-run policies applied. For TCP, method and path are empty.
 */
public record DecisionRecord(Instant time, Verdict verdict, boolean observing, SpiffeId caller,
        Optional<String> sourceCluster, Optional<SpiffeId> peerGateway, MeshName destination,
        Optional<String> destinationCluster, int port, Optional<String> method, Optional<String> path,
        Optional<Verdict> observed, Optional<Verdict> dryRun) {

    public DecisionRecord {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(caller, "caller");
        Objects.requireNonNull(sourceCluster, "sourceCluster");
        Objects.requireNonNull(peerGateway, "peerGateway");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(destinationCluster, "destinationCluster");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(observed, "observed");
        Objects.requireNonNull(dryRun, "dryRun");
        if (method.isPresent() != path.isPresent()) {
            throw new IllegalArgumentException("method and path go together (both absent for TCP)");
        }
        if (observing != observed.isPresent()) {
            throw new IllegalArgumentException("observe mode and an observed verdict go together");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 1-65535");
        }
    }

    /**
     * A logged verdict: {@code reason} is {@code allowed} or a {@link DenyReason} code; {@code policy}/{@code rule}
     * name what decided, empty for default deny.
     */
    public record Verdict(boolean allowed, String reason, Optional<String> policy, Optional<String> rule) {
        public Verdict {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(policy, "policy");
            Objects.requireNonNull(rule, "rule");
        }

        /** {@code billing/allow-checkout rules[0]}, or the reason when no policy decided. */
        public String describe() {
            return policy.map(p -> p + rule.map(r -> " " + r).orElse("")).orElse(reason);
        }
    }

    public boolean tcp() {
        return method.isEmpty();
    }

    /** Whether the request went through (the enforced verdict, which observe mode makes an allow). */
    public boolean served() {
        return verdict.allowed();
    }

    /** A refusal made before any policy was asked (who the caller is): replaying it against policies means nothing. */
    public boolean refusedBeforePolicy() {
        return !verdict.allowed() && DenyReason.ofCode(verdict.reason()).map(DenyReason::beforePolicy).orElse(false);
    }

    /** The request again, as the ingress asked its policy. */
    public AccessRequest toAccessRequest() {
        AccessRequest r = new AccessRequest(caller, destination, port, method, path);
        return peerGateway.map(r::viaGateway).orElse(r);
    }
}
