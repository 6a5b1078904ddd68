package io.isthmus.gateway.health;

import java.time.Clock;
import java.time.Instant;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.federation.PeerSyncStatus;
import io.smallrye.health.api.HealthGroup;

/** {@code /q/health/group/peers}: DOWN while any peer's bundle is stale, naming each stale peer and why. */
@HealthGroup("peers")
@ApplicationScoped
public class PeerFreshness implements HealthCheck {
    @Inject
    TrustService trust;

    @Inject
    Clock clock;

    @Override
    public HealthCheckResponse call() {
        Instant now = clock.instant();
        HealthCheckResponseBuilder b = HealthCheckResponse.named("isthmus-peer-bundles");
        boolean allFresh = true;
        for (PeerSyncStatus s : trust.runtime().sync().status().values()) {
            b.withData(s.peer() + " (" + s.trustDomain() + ")", s.describe(now));
            allFresh &= !s.stale();
        }
        return b.status(allFresh).build();
    }
}
