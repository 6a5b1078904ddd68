package io.isthmus.agent.jwt;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.jwt.JwtSvid;
import io.isthmus.trust.jwt.JwtSvidValidator;
import io.isthmus.trust.jwt.JwtVerdict;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The agent's JWT-SVIDs, one per (SPIFFE ID, audience set), fetched from the gateway on first use and again once
 * half of a token's life has passed (as SPIRE's agent does), so a workload never receives a token about to expire.
 * Every fetched token is validated against the agent's bundles before it is cached or served: a gateway answer
 * that does not verify (wrong key, wrong subject, already expired) is an error, never a credential. Thread-safe;
 * a fetch blocks only its caller.
 *
 * <p>When the refresh fails for a reason that can pass (the gateway is unreachable, overloaded, or a fresh replica
 * answers 503 until peers know its key),
 * the token held is served while it has at least {@link #MIN_LIFE_SERVED} left, as SPIRE's agent keeps serving
 * cached SVIDs while its server is away, and the fetch is tried again after {@link #RETRY_AFTER_FAILURE}. A token
 * never goes out past that margin, nor after the gateway refused the request (then the failure is the caller's).
 */
public final class JwtSvidCache {
    /** Bounds memory against a workload asking for endless audience sets. */
    static final int MAX_ENTRIES = 1024;
    /** A held token is served after a failed refresh only while it lives at least this long. */
    static final Duration MIN_LIFE_SERVED = Duration.ofSeconds(10);
    /** After a failed refresh, the next call for that token tries the gateway again this much later. */
    static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(1);
    private static final Logger LOG = Logger.getLogger(JwtSvidCache.class);

    /** The gateway call; {@link io.isthmus.agent.gateway.GatewayClient#jwtSvid} in production. */
    @FunctionalInterface
    public interface Fetcher {
        String fetch(SpiffeId subject, List<String> audience) throws GatewayException;
    }

    private record Key(SpiffeId subject, List<String> audience) {
    }

    /** {@code failing}: the last refresh failed and this token is being served until it is replaced or too old. */
    private record Entry(JwtSvid svid, Instant refreshAt, boolean failing) {
    }

    private final Fetcher fetcher;
    private final BundleSource bundles;
    private final Clock clock;
    private final Map<Key, Entry> entries = new ConcurrentHashMap<>();

    public JwtSvidCache(Fetcher fetcher, BundleSource bundles, Clock clock) {
        this.fetcher = Objects.requireNonNull(fetcher);
        this.bundles = Objects.requireNonNull(bundles);
        this.clock = Objects.requireNonNull(clock);
    }

    /** The agent's cache: tokens from {@code gateway}, asked with the current SVID, checked against current bundles. */
    public static JwtSvidCache fromGateway(GatewayClient gateway, Supplier<AgentState> state, Clock clock) {
        return new JwtSvidCache((subject, audience) -> {
            AgentState now = state.get();
            return gateway.jwtSvid(now.svid(), now.bundles(), subject, audience).token();
        }, td -> state.get().bundles().bundleFor(td), clock);
    }

    /**
     * A valid JWT-SVID for {@code subject} and every audience in {@code audience}.
     *
     * @throws GatewayException when the gateway refuses or is unreachable, or its token does not validate
     */
    public JwtSvid get(SpiffeId subject, List<String> audience) throws GatewayException {
        // The set, sorted: [a, b] and [b, a] are one token (aud is a set), and duplicates add nothing.
        Key key = new Key(subject, List.copyOf(new TreeSet<>(audience)));
        Instant now = clock.instant();
        Entry cached = entries.get(key);
        if (cached != null && now.isBefore(cached.refreshAt())) {
            return cached.svid();
        }
        String token;
        try {
            token = fetcher.fetch(subject, key.audience());
        } catch (GatewayException e) {
            // A refusal (the agent may no longer act as this ID) ends the token at once; only unavailability waits.
            if (cached == null || !e.retryable() || now.plus(MIN_LIFE_SERVED).isAfter(cached.svid().expiry())) {
                throw e;
            }
            if (!cached.failing()) {
                LOG.warnf("could not refresh the JWT-SVID for %s %s (%s); serving the one held, valid until %s, and "
                        + "trying again every %s", subject, key.audience(), e.getMessage(), cached.svid().expiry(),
                        RETRY_AFTER_FAILURE);
            }
            entries.put(key, new Entry(cached.svid(), now.plus(RETRY_AFTER_FAILURE), true));
            return cached.svid();
        }
        JwtVerdict verdict = JwtSvidValidator.validate(token, key.audience().get(0), bundles, now);
        if (!(verdict instanceof JwtVerdict.Valid valid)) {
            JwtVerdict.Invalid bad = (JwtVerdict.Invalid) verdict;
            throw new GatewayException("bad-jwt-svid", 0, "the gateway's JWT-SVID for " + subject + " does not validate ("
                    + bad.reason().label() + "): " + bad.message(), null);
        }
        if (!valid.svid().id().equals(subject) || !valid.svid().audience().containsAll(key.audience())) {
            throw new GatewayException("bad-jwt-svid", 0, "the gateway's JWT-SVID is for " + valid.svid().id() + " "
                    + valid.svid().audience() + ", not the requested " + subject + " " + key.audience(), null);
        }
        Duration life = Duration.between(now, valid.svid().expiry());
        if (entries.size() >= MAX_ENTRIES) {
            entries.values().removeIf(e -> !now.isBefore(e.refreshAt()));
            if (entries.size() >= MAX_ENTRIES) {
                entries.clear();
            }
        }
        entries.put(key, new Entry(valid.svid(), now.plus(life.dividedBy(2)), false));
        return valid.svid();
    }

    /** Tokens held, for tests and status. */
    public int size() {
        return entries.size();
    }
}
