package io.isthmus.gateway.health;

import java.time.Clock;
import java.time.Instant;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.federation.PeerSyncStatus;
import io.isthmus.trust.rotation.RotationView;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.x509.Certificates;

/**
 * Ready when the CA is loaded and the gateway holds a valid SVID. Reports each peer's bundle freshness (and
 * why it is stale), the rotation's phase and the intermediate's remaining lifetime as data, without going DOWN for
 * them: one unreachable peer, or an intermediate that expires in a week, must not take every replica of this gateway
 * out of its load balancer. Probe {@code /q/health/group/peers} to alert on stale peers and
 * {@code /q/health/group/rotation} on an intermediate close to expiry.
 */
@Readiness
@ApplicationScoped
public class TrustReadiness implements HealthCheck {
    @Inject
    TrustService trust;

    @Inject
    Clock clock;

    @Override
    public HealthCheckResponse call() {
        TrustRuntime rt = trust.runtime();
        Instant now = clock.instant();
        var intermediate = rt.ca().current().certificate();
        var svid = rt.current();
        RotationView rotation = rt.rotation().view();
        HealthCheckResponseBuilder b = HealthCheckResponse.named("isthmus-trust")
                .withData("trust-domain", rt.trustDomain().name())
                .withData("intermediate", Certificates.serialHex(intermediate))
                .withData("intermediate-expires", intermediate.getNotAfter().toInstant().toString())
                .withData("intermediate-remaining", String.format("%.1f%%", rotation.activeRemaining() * 100))
                .withData("rotation-phase", rotation.phase().label())
                .withData("gateway-svid", svid.id().toString())
                .withData("gateway-svid-expires", svid.notAfter().toString())
                .withData("bundle-sequence", rt.localBundle().current().sequence())
                .withData("bundle-endpoint-port", rt.bundleEndpointAddress().getPort());
        rotation.expiryWarning().ifPresent(w -> b.withData("intermediate-expiry", "WARNING: " + w));
        for (PeerSyncStatus s : rt.sync().status().values()) {
            b.withData("peer." + s.peer(), (s.stale() ? "stale: " : "fresh: ") + s.describe(now));
        }
        boolean up = svid.notAfter().isAfter(now) && intermediate.getNotAfter().toInstant().isAfter(now);
        if (!up) {
            b.withData("reason", "the gateway SVID or the intermediate has expired; check CA rotation and "
                    + "isthmus_cert_expiry_seconds");
        }
        return b.status(up).build();
    }
}
