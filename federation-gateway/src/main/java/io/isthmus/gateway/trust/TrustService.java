package io.isthmus.gateway.trust;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.trust.federation.BundleRejection;
import io.isthmus.trust.federation.SyncListener;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSnapshot;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;

/**
 * Starts the trust plane at application start and owns it: CA, gateway SVID, local and peer bundles, bundle
 * endpoint. A failure here (missing or invalid CA files, a peer misconfigured) fails startup with the key named.
 */
@ApplicationScoped
@Startup
public class TrustService {
    private static final Logger LOG = Logger.getLogger(TrustService.class);

    private final TrustRuntime runtime;

    @Inject
    public TrustService(GatewayConfig config, Clock clock, MeterRegistry meters, Event<TrustSnapshot> changes) {
        TrustMetrics metrics = new TrustMetrics(meters);
        try {
            this.runtime = TrustRuntime.start(TrustSettingsFactory.from(config, clock), clock, new SyncListener() {
                @Override
                public void accepted(TrustDomain peer, TrustBundle bundle) {
                    metrics.syncOutcome(peer, "accepted");
                }

                @Override
                public void rejected(TrustDomain peer, BundleRejection reason, String message) {
                    metrics.syncOutcome(peer, reason.label());
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("starting the trust plane failed: " + e.getMessage(), e);
        }
        metrics.bind(runtime);
        // Fired on the thread that swapped the snapshot (SVID renewal or bundle sync); observers must not block.
        runtime.addListener(changes::fire);
        LOG.infof("gateway %s: SPIFFE bundle endpoint at https://%s:%d/", runtime.current().id(),
                runtime.settings().bundleEndpoint().getHostString(), runtime.bundleEndpointAddress().getPort());
    }

    public TrustRuntime runtime() {
        return runtime;
    }

    @PreDestroy
    void stop() {
        runtime.close();
    }

    /**
     * The clock every time-dependent component uses; tests replace it, and {@code isthmus.dev.clock-offset} skews
     * it on purpose.
     */
    @Singleton
    static class Clocks {
        @Produces
        @Singleton
        Clock clock(GatewayConfig config) {
            Duration offset = config.dev().clockOffset();
            if (offset.isZero()) {
                return Clock.systemUTC();
            }
            LOG.warnf("isthmus.dev.clock-offset=%s: this gateway runs on a clock that is deliberately off by %s"
                    + " (testing only): its certificates, leases and times are skewed against its peers", offset, offset);
            return Clock.offset(Clock.systemUTC(), offset);
        }
    }
}
