package io.isthmus.gateway.membership;

import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.enrolment.RateLimiter;
import io.isthmus.trust.membership.PushAdmission;

/**
 * The limit on membership pushes ({@code POST /v1/membership} on the bundle endpoint) per source address: the
 * enrolment's token bucket ({@link RateLimiter}), held by this replica. Not shared between replicas as enrolment's
 * is: the shared buckets live in the enrolment cluster's cache, which starts after the trust plane that serves this
 * endpoint, and a push spends no one-use token, so a limit per replica (the configured one, times the replicas a
 * load balancer spreads an attacker over) bounds the work as well. Members push once per change to each member, far
 * below the default.
 *
 * <p>The first refusal of a source is an audit line ({@code federation.membership.push}, {@code rate-limited}); its
 * further refusals are not, until it is admitted again, so the flood does not move into the audit log. At most
 * {@link #MAX_SOURCES} buckets are held; a full bucket is the same as none, so those are dropped first, and beyond
 * that new sources share one bucket (a flood from many addresses is then limited as one). Thread-safe.
 */
public final class PushRateLimit implements PushAdmission {
    static final int MAX_SOURCES = 10_000;
    private static final String SHARED = "(beyond " + MAX_SOURCES + " sources)";

    private record State(RateLimiter.Bucket bucket, boolean limited) {
    }

    private final RateLimiter.Limit limit;
    private final Clock clock;
    private final EnrolmentAudit audit;
    private final Map<String, State> sources = new ConcurrentHashMap<>();

    PushRateLimit(RateLimiter.Limit limit, Clock clock, EnrolmentAudit audit) {
        this.limit = limit;
        this.clock = clock;
        this.audit = audit;
    }

    /** The limit {@code isthmus.federation.push-rate-limit} configures. */
    public static PushRateLimit of(FederationConfig config, Clock clock, EnrolmentAudit audit) {
        return new PushRateLimit(new RateLimiter.Limit(config.pushRateLimit().burst(), config.pushRateLimit().perMinute()),
                clock, audit);
    }

    @Override
    public Verdict admit(String sourceAddress) {
        long now = nanos(clock.instant());
        if (sources.size() >= MAX_SOURCES && !sources.containsKey(sourceAddress)) {
            sources.values().removeIf(s -> RateLimiter.decide(limit, Optional.of(s.bucket()), now).next().tokens()
                    >= limit.burst() - 1);
        }
        String key = sources.size() >= MAX_SOURCES && !sources.containsKey(sourceAddress) ? SHARED : sourceAddress;
        RateLimiter.Decision[] decided = new RateLimiter.Decision[1];
        boolean[] firstRefusal = new boolean[1];
        sources.compute(key, (k, s) -> {
            RateLimiter.Decision d = RateLimiter.decide(limit, Optional.ofNullable(s).map(State::bucket), now);
            decided[0] = d;
            firstRefusal[0] = !d.allowed() && (s == null || !s.limited());
            return new State(d.next(), !d.allowed());
        });
        RateLimiter.Decision d = decided[0];
        if (d.allowed()) {
            return new Admitted();
        }
        String detail = "too many membership pushes from " + sourceAddress + " (isthmus.federation.push-rate-limit: "
                + limit.burst() + " at once, " + limit.perMinute() + " per minute); retry after "
                + Math.max(1, d.retryAfter().toSeconds() + 1) + " s";
        if (firstRefusal[0]) {
            audit.record(new EnrolmentAudit.Entry("federation.membership.push", false, "rate-limited", sourceAddress,
                    null, null, null, null, detail + "; further refusals of this source are not audited until it is"
                    + " admitted again"));
        }
        return new Limited(d.retryAfter(), detail);
    }

    private static long nanos(Instant i) {
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
