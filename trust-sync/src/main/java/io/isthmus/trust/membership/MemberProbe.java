package io.isthmus.trust.membership;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.federation.BundleEndpointClient;
import io.isthmus.trust.federation.BundleRejectedException;
import io.isthmus.trust.federation.PeerBundleValidator;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.tls.SvidCertificateException;

/**
 * Fetches a member's bundle as a peer would (over {@code https_spiffe}, the endpoint authenticated from the
 * federation root at first contact) and checks it with the peer bundle rules, before a document that adds the
 * member is taken. A handshake or bundle that does not chain to a root under the member's trust domain is
 * {@link MemberCheck.NotUnderRoot}; anything else that fails is {@link MemberCheck.Unreachable}.
 */
public final class MemberProbe {
    private final RootsSource roots;
    private final BundleSource known;
    private final Clock clock;
    private final Duration skew;
    private final Duration timeout;
    private final Executor executor;
    private final BundleCodec codec = new BundleCodec();
    private final PeerBundleValidator validator;

    public MemberProbe(RootsSource roots, BundleSource known, Clock clock, Duration skew, Duration timeout,
            Executor executor) {
        this.roots = roots;
        this.known = known;
        this.clock = clock;
        this.skew = skew;
        this.timeout = timeout;
        this.executor = executor;
        this.validator = new PeerBundleValidator(new AuthorityValidator(roots, skew), clock);
    }

    public CompletableFuture<MemberCheck> probe(Member m) {
        PeerConfig peer = new PeerConfig(m.name(), m.trustDomain(), m.bundleEndpoint(), java.util.Optional.empty());
        BundleEndpointClient client = new BundleEndpointClient(peer, roots, known, clock, skew, codec, timeout, executor);
        return client.fetch().<MemberCheck>thenApply(parsed -> {
            try {
                return switch (validator.decide(m.trustDomain(), parsed.bundle(), java.util.Optional.empty())) {
                    case PeerBundleValidator.Decision.Accept a -> new MemberCheck.Verified(a.bundle());
                    case PeerBundleValidator.Decision.Unchanged u -> new MemberCheck.Verified(u.current());
                };
            } catch (BundleRejectedException e) {
                return new MemberCheck.NotUnderRoot(e.getMessage());
            }
        }).exceptionally(MemberProbe::classify)
                .completeOnTimeout(new MemberCheck.Unreachable("no answer within " + timeout), timeout.toMillis() * 2,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private static MemberCheck classify(Throwable failure) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SvidCertificateException) {
                return new MemberCheck.NotUnderRoot(t.getMessage());
            }
        }
        if (t instanceof BundleRejectedException r) {
            return switch (r.reason()) {
                case INVALID_AUTHORITY, NO_AUTHORITIES, WRONG_TRUST_DOMAIN -> new MemberCheck.NotUnderRoot(r.getMessage());
                default -> new MemberCheck.Unreachable(r.getMessage());
            };
        }
        return new MemberCheck.Unreachable(String.valueOf(t.getMessage()));
    }
}
