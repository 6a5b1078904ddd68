package io.isthmus.gateway.health;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.rotation.RotationView;
import io.smallrye.health.api.HealthGroup;

/**
 * {@code /q/health/group/rotation}: DOWN while the active intermediate has less than
 * {@code isthmus.rotation.expiry-warning-fraction} of its lifetime left, saying what to do; the rotation's phase and
 * the step times as data. For alerting: an intermediate nobody rotates never expires silently.
 */
@HealthGroup("rotation")
@ApplicationScoped
public class RotationHealth implements HealthCheck {
    @Inject
    TrustService trust;

    @Override
    public HealthCheckResponse call() {
        RotationView v = trust.runtime().rotation().view();
        HealthCheckResponseBuilder b = HealthCheckResponse.named("isthmus-rotation")
                .withData("phase", v.phase().label())
                .withData("intermediate", v.active().serial())
                .withData("intermediate-expires", v.active().notAfter().toString())
                .withData("intermediate-remaining", String.format("%.1f%%", v.activeRemaining() * 100));
        v.nextSerial().ifPresent(n -> b.withData("next-intermediate", n));
        v.retireAt().ifPresent(t -> b.withData("retire-at", t.toString()));
        v.lastError().ifPresent(e -> b.withData("last-error", e));
        v.expiryWarning().ifPresent(w -> b.withData("warning", w));
        return b.status(v.expiryWarning().isEmpty()).build();
    }
}
