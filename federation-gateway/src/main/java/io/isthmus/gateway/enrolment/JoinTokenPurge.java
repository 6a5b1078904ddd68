package io.isthmus.gateway.enrolment;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.isthmus.trust.concurrent.Workers;
import io.quarkus.runtime.Startup;

/**
 * Deletes join tokens that expired more than {@code isthmus.enrolment.token-retention} ago, on a fixed interval.
 * Every replica sweeps; the store removes a token only if it is unchanged since it was read, so replicas racing on
 * the same token delete it once and an enrolment in flight is never overtaken. Each deletion is audited.
 */
@ApplicationScoped
@Startup
public class JoinTokenPurge {
    private static final Logger LOG = Logger.getLogger(JoinTokenPurge.class);

    private final JoinTokenStore tokens;
    private final Duration retention;
    private final Clock clock;
    private final EnrolmentAudit audit;
    private final ScheduledExecutorService timer;
    private volatile boolean stopping;

    @Inject
    public JoinTokenPurge(EnrolmentStores stores, EnrolmentConfig config, Clock clock, EnrolmentAudit audit) {
        this(stores.tokens(), config.tokenRetention(), clock, audit);
        Duration every = config.tokenPurgeInterval();
        if (every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("isthmus.enrolment.token-purge-interval must be positive, got " + every);
        }
        timer.scheduleWithFixedDelay(this::sweepLogged, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    JoinTokenPurge(JoinTokenStore tokens, Duration retention, Clock clock, EnrolmentAudit audit) {
        if (retention.isNegative()) {
            throw new IllegalArgumentException("isthmus.enrolment.token-retention must not be negative, got " + retention);
        }
        this.tokens = tokens;
        this.retention = retention;
        this.clock = clock;
        this.audit = audit;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-join-token-purge");
            t.setDaemon(true);
            return t;
        });
    }

    /** Deletes the tokens whose expiry is older than now minus the retention; returns how many it deleted. */
    int sweep() {
        Instant cutoff = clock.instant().minus(retention);
        int removed = 0;
        for (JoinToken t : tokens.list()) {
            if (t.expiresAt().isBefore(cutoff) && tokens.remove(t)) {
                removed++;
                audit.record(new EnrolmentAudit.Entry("token-purge", true, "token-expired", null, "isthmus-gateway",
                        t.identity().toString(), t.id(), null, "expired " + t.expiresAt() + ", kept " + retention));
            }
        }
        return removed;
    }

    private void sweepLogged() {
        try {
            int removed = sweep();
            if (removed > 0) {
                LOG.infof("deleted %d join token(s) that expired more than %s ago", removed, retention);
            }
        } catch (RuntimeException e) {
            if (stopping) {
                LOG.debugf("join token purge cut short: the gateway is stopping (%s)", e.toString());
                return;
            }
            LOG.warnf("join token purge failed, retrying in the next interval: %s", e.toString());
        }
    }

    /** A purge in progress has 2 s to finish before it is interrupted (what that cuts short is logged at DEBUG). */
    @PreDestroy
    void stop() {
        stopping = true;
        Workers.stop(timer, Duration.ofSeconds(2));
    }
}
