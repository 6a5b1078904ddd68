package io.isthmus.gateway.jwt;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.isthmus.trust.federation.BundleEndpointClient.HintReply;
import io.isthmus.trust.federation.PeerBundleSync;
import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Gets this cluster's JWT keys to its federated peers before they sign: whenever the keys this replica publishes
 * change (a new replica, a rotation step, a retirement), it sends every peer a refresh hint, and again with backoff
 * until each peer's answer shows exactly the published keys, or until a whole {@code window} has passed (by then
 * every reachable peer has polled on its own). The answers feed {@link JwtKeyReadiness}, which decides whether a key
 * may sign. Thread-safe: hint rounds run on one thread of their own; answers land on the HTTP client's threads.
 */
final class JwtKeyPropagation implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JwtKeyPropagation.class);
    private static final Duration FIRST_RETRY = Duration.ofMillis(500);
    private static final Duration LONGEST_RETRY = Duration.ofSeconds(30);

    private final TrustDomain own;
    private final PeerBundleSync peers;
    private final Clock clock;
    private final Duration window;
    private final Map<String, Instant> publishedSince = new ConcurrentHashMap<>();
    private final Map<TrustDomain, Set<String>> confirmed = new ConcurrentHashMap<>();
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "isthmus-jwt-key-hints");
        t.setDaemon(true);
        return t;
    });
    private volatile Set<String> current = Set.of();
    private volatile Instant changedAt;
    /** Rounds since the last change; only touched on the worker thread. */
    private int round;

    /**
     * @param window how long a published key takes at most to reach every reachable peer without a hint: our
     *     bundle's refresh hint (peers poll at it) plus a fetch timeout
     */
    JwtKeyPropagation(TrustDomain own, PeerBundleSync peers, Clock clock, Duration window) {
        this.own = own;
        this.peers = peers;
        this.clock = clock;
        this.window = window;
        this.changedAt = clock.instant();
    }

    /** The key IDs this replica's bundle publishes now, after every merge; hints peers when they changed. */
    void published(List<String> keyIds) {
        Set<String> next = Set.copyOf(keyIds);
        Instant now = clock.instant();
        next.forEach(k -> publishedSince.putIfAbsent(k, now));
        publishedSince.keySet().retainAll(next);
        if (!next.equals(current)) {
            current = next;
            changedAt = now;
            if (!worker.isShutdown()) {
                worker.execute(() -> {
                    round = 0;
                    hintRound();
                });
            }
        }
    }

    /** Whether {@code keyId} may sign now; a key this replica does not publish never may. */
    JwtKeyReadiness.Verdict readiness(String keyId) {
        Instant since = publishedSince.get(keyId);
        Instant now = clock.instant();
        if (since == null) {
            return new JwtKeyReadiness.Verdict.NotYet(keyId, peers.peerDomains().stream().sorted().toList(),
                    now.plus(window));
        }
        return JwtKeyReadiness.decide(keyId, since, now, window, peers.peerDomains(), Map.copyOf(confirmed));
    }

    /** What each peer said it holds of our keys, for the admin view and logs. */
    Map<TrustDomain, Set<String>> confirmations() {
        return Map.copyOf(confirmed);
    }

    private void hintRound() {
        Set<String> want = current;
        Map<TrustDomain, CompletableFuture<HintReply>> asks = peers.hintPeers(own, td -> !want.equals(confirmed.get(td)));
        CompletableFuture<?>[] all = asks.entrySet().stream().map(e -> e.getValue().handle((reply, failure) -> {
            if (reply != null && (reply.status() == 202 || reply.status() == 429)) {
                confirmed.put(e.getKey(), reply.jwtKeyIds());
            } else {
                LOG.debugf("refresh hint to %s not answered: %s", e.getKey(),
                        failure != null ? failure.getMessage() : "HTTP " + reply.status());
            }
            return null;
        })).toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(all).whenComplete((ok, failure) -> next(want));
    }

    private void next(Set<String> want) {
        if (worker.isShutdown() || !want.equals(current)) {
            return; // a newer change started its own rounds
        }
        if (peers.peerDomains().isEmpty()) {
            return;
        }
        boolean everyPeerHasIt = peers.peerDomains().stream().allMatch(td -> want.equals(confirmed.get(td)));
        if (everyPeerHasIt) {
            LOG.infof("JWT keys %s of %s confirmed by every peer %s", want.stream().sorted().toList(), own,
                    peers.peerDomains().stream().map(TrustDomain::name).sorted().toList());
            return;
        }
        if (!clock.instant().isBefore(changedAt.plus(window))) {
            return; // every reachable peer has polled on its own by now
        }
        long delay = Math.min(FIRST_RETRY.toMillis() << Math.min(round++, 10), LONGEST_RETRY.toMillis());
        worker.schedule(() -> {
            if (want.equals(current)) {
                hintRound();
            }
        }, delay, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
