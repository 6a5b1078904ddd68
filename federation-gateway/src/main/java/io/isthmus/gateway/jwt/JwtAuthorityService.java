package io.isthmus.gateway.jwt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.enrolment.EnrolmentStores;
import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.jwt.JwtSvid;
import io.isthmus.trust.jwt.JwtSvidSigner;
import io.isthmus.trust.spiffe.SpiffeId;
import io.quarkus.runtime.Startup;

/**
 * This replica's JWT signing authority: the key ring under {@code <data-dir>/jwt/}, its public keys shared with the
 * cluster's other replicas and published, with theirs, in the local bundle ({@link ReplicaKeyDirectory}; the bundle
 * exchange federates them), and this replica's own rotation steps, which {@link ClusterJwtRotation} takes when the
 * cluster records a step. Each step persists the ring before publishing it, so a restart never signs with a key the
 * bundle does not carry. Thread-safe (one lock: steps are rare; signing only reads the ring).
 */
@ApplicationScoped
@Startup
public class JwtAuthorityService {
    private static final Logger LOG = Logger.getLogger(JwtAuthorityService.class);

    private final ReplicaKeyDirectory replicas;
    private final LocalBundle bundle;
    private final Clock clock;
    private final JwtConfig config;
    private final JwtKeyPropagation propagation;
    private final ReplicaKeyRing keys;

    @Inject
    public JwtAuthorityService(TrustService trust, GatewayConfig gateway, JwtConfig config, Clock clock,
            EnrolmentStores stores) {
        this.bundle = trust.runtime().localBundle();
        // Peers poll our bundle at its refresh hint; a poll takes at most a fetch timeout.
        Duration window = trust.runtime().settings().bundleRefreshHint()
                .plus(trust.runtime().settings().sync().fetchTimeout());
        this.propagation = new JwtKeyPropagation(trust.runtime().trustDomain(), trust.runtime().sync(), clock, window);
        this.replicas = new ReplicaKeyDirectory(stores.cacheManager(), trust.runtime().trustDomain(), bundle, clock,
                config.replicaLease(), config.svidTtl(),
                keys -> propagation.published(keys.stream().map(JwtAuthority::keyId).toList()));
        this.clock = clock;
        this.config = config;
        try {
            this.keys = new ReplicaKeyRing(gateway.dataDir().resolve("jwt"), replicas, clock, config.svidTtl());
        } catch (IOException e) {
            throw new UncheckedIOException("starting the JWT signing authority failed: " + e.getMessage(), e);
        }
        LOG.infof("JWT-SVID signing key %s (ES256) of replica %s, published in the bundle of %s with the other "
                + "replicas' keys %s", keys.ring().active().keyId(), replicas.replicaName(), trust.runtime().trustDomain(),
                bundle.current().jwtAuthorities().stream().map(JwtAuthority::keyId).toList());
    }

    /** {@code isthmus.jwt.svid-ttl}: the lifetime of the JWT-SVIDs this gateway signs, unless the caller bounds it. */
    public Duration svidTtl() {
        return config.svidTtl();
    }

    /**
     * Signs a JWT-SVID for {@code subject}, valid for {@code ttl} ({@link #svidTtl()}, or less as the caller bounds
     * it); the caller has already decided that the requester may have it.
     *
     * @throws JwtKeyNotReadyException while a federated peer may not know the signing key yet (a replica's first
     *     key, or its key after a restart, until every peer confirmed it or a whole refresh window passed)
     * @throws IllegalArgumentException when {@code ttl} is longer than {@link #svidTtl()} (the retired keys stay in
     *     the bundle only that long) or shorter than 1 second
     */
    public JwtSvid sign(SpiffeId subject, List<String> audience, Duration ttl) {
        if (ttl.compareTo(config.svidTtl()) > 0) {
            throw new IllegalArgumentException("a JWT-SVID lifetime of " + ttl + " is longer than isthmus.jwt.svid-ttl = "
                    + config.svidTtl());
        }
        JwtSigningKey key = keys.ring().active();
        if (propagation.readiness(key.keyId()) instanceof JwtKeyReadiness.Verdict.NotYet notYet) {
            throw new JwtKeyNotReadyException(notYet, clock.instant());
        }
        return JwtSvidSigner.sign(key, subject, audience, clock.instant(), ttl);
    }

    /** Whether {@code keyId} may sign now: every federated peer can know it. */
    public JwtKeyReadiness.Verdict readiness(String keyId) {
        return propagation.readiness(keyId);
    }

    public JwtKeyRing ring() {
        return keys.ring();
    }

    /** This replica's ring and its rotation steps, for {@link ClusterJwtRotation}. */
    ReplicaKeyRing keys() {
        return keys;
    }

    @PreDestroy
    void stop() {
        propagation.close();
        replicas.close();
    }

    /** This replica's name in its cluster. */
    public String replicaName() {
        return replicas.replicaName();
    }

    /** Where every live replica of the cluster stands in the rotation (this one included), by name. */
    public Map<String, Optional<ReplicaRotation>> replicaRotations() {
        return keys.replicaRotations();
    }

    /** The kids this replica's ring publishes, for logs and the admin view. */
    public List<String> publishedKeyIds() {
        return keys.publishedKeyIds();
    }

    /** The kids the cluster's bundle publishes: every replica's (as this replica serves it). */
    public List<String> bundleKeyIds() {
        return bundle.current().jwtAuthorities().stream().map(JwtAuthority::keyId).toList();
    }
}
