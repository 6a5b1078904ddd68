package io.isthmus.gateway.trust;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.isthmus.gateway.config.ClusterName;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.membership.FederationConfig;
import io.isthmus.gateway.membership.MembershipView;
import io.isthmus.gateway.membership.PushRateLimit;
import io.isthmus.gateway.registry.RegistryConfig;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.membership.FederationMembership;
import io.isthmus.trust.membership.MemberCheck;
import io.isthmus.trust.membership.MemberProbe;
import io.isthmus.trust.membership.MembershipChange;
import io.isthmus.trust.membership.MembershipGossip;
import io.isthmus.trust.membership.MembershipStore;
import io.isthmus.trust.membership.SignedMembership;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.enrolment.EnrolmentConfig;
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
    private final FederationMembership membership;

    @Inject
    public TrustService(GatewayConfig config, EnrolmentConfig enrolment, RegistryConfig registry,
            FederationConfig federation, Clock clock, MeterRegistry meters, Event<TrustSnapshot> changes,
            EnrolmentAudit audit) {
        TrustMetrics metrics = new TrustMetrics(meters);
        Duration vmTtl = EnrolmentConfig.vmSvidTtl(enrolment, config.ca().svidTtl());
        Duration longestTtl = vmTtl.compareTo(config.ca().svidTtl()) > 0 ? vmTtl : config.ca().svidTtl();
        String self = ClusterName.of(config, registry);
        MembershipStore membershipStore = new MembershipStore(config.dataDir().resolve("membership"));
        Optional<SignedMembership> held;
        try {
            TrustSettings settings = TrustSettingsFactory.from(config, clock, longestTtl);
            // A membership document, once held, decides the peers: a cluster removed from it must not come back
            // through a static peer entry left in some gateway's configuration.
            held = FederationMembership.loadPersisted(membershipStore, settings.roots());
            if (held.isPresent()) {
                if (!config.peers().isEmpty()) {
                    LOG.infof("membership version %d is in force: the %d static isthmus.peers.* entries are not used",
                            held.get().version(), config.peers().size());
                }
                settings = withPeers(settings, MembershipView.trustPeers(held.get().membership(), self));
            }
            this.runtime = TrustRuntime.start(settings, clock,
                    new SyncListener() {
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
        this.membership = membership(config, federation, clock, self, membershipStore, held);
        membership.limitPushes(PushRateLimit.of(federation, clock, audit));
        runtime.serveOnBundleEndpoint(MembershipGossip.PATH, membership);
        LOG.infof("gateway %s: SPIFFE bundle endpoint at https://%s:%d/", runtime.current().id(),
                runtime.settings().bundleEndpoint().getHostString(), runtime.bundleEndpointAddress().getPort());
    }

    private FederationMembership membership(GatewayConfig config, FederationConfig federation, Clock clock, String self,
            MembershipStore store, Optional<SignedMembership> held) {
        Duration skew = config.ca().clockSkew();
        Duration timeout = federation.probeTimeout();
        MemberProbe probe = new MemberProbe(runtime, runtime, clock, skew, timeout, null);
        MembershipGossip gossip = new MembershipGossip(runtime, runtime, clock, skew, timeout, null);
        Set<URI> bootstrap = new LinkedHashSet<>();
        federation.seed().ifPresent(bootstrap::add);
        config.peers().values().forEach(p -> bootstrap.add(p.bundleEndpointUrl()));
        FederationMembership m = new FederationMembership(self, runtime.trustDomain(), runtime, store,
                held, probe::probe, gossip,
                () -> Set.copyOf(bootstrap), federation.pollInterval(), timeout);
        m.addListener(this::applyPeers);
        return m;
    }

    /**
     * The trust side of a membership change: the peers whose bundles are synced become the other members (removed
     * ones' bundles are dropped, so their SVIDs stop verifying), and a new member's bundle, which the document's
     * probe already fetched and validated, is in force at once rather than at the first poll.
     */
    private void applyPeers(MembershipChange change) {
        try {
            runtime.applyMembership(runtime.roots(), MembershipView.trustPeers(change.next().membership(), change.self()));
            for (var entry : change.checks().entrySet()) {
                if (entry.getValue() instanceof MemberCheck.Verified v
                        && runtime.sync().status().containsKey(entry.getKey())
                        && runtime.store().bundleFor(entry.getKey()).isEmpty()) {
                    runtime.store().put(v.bundle());
                }
            }
        } catch (IOException e) {
            LOG.errorf("membership version %d: applying the peers' bundles failed: %s", change.next().version(), e);
        }
    }

    private static TrustSettings withPeers(TrustSettings s, List<PeerConfig> peers) {
        return new TrustSettings(s.trustDomain(), s.roots(), s.intermediate(), s.gatewayId(), s.dataDir(),
                s.bundleEndpoint(), s.bundleRefreshHint(), s.svidTtl(), s.clockSkew(), peers, s.sync(), s.rotation(),
                s.caFiles(), s.bundleEndpointLimits());
    }

    public TrustRuntime runtime() {
        return runtime;
    }

    /** The federation's membership as this gateway holds it. */
    public FederationMembership membership() {
        return membership;
    }

    @PreDestroy
    void stop() {
        membership.close();
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
