package io.isthmus.gateway.jwt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.List;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.enrolment.EnrolmentStores;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtKeyStore;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.jwt.JwtSvid;
import io.isthmus.trust.jwt.JwtSvidSigner;
import io.isthmus.trust.spiffe.SpiffeId;
import io.quarkus.runtime.Startup;

/**
 * This replica's JWT signing authority: the key ring under {@code <data-dir>/jwt/}, its public keys shared with the
 * cluster's other replicas and published, with theirs, in the local bundle ({@link ReplicaKeyDirectory}; the bundle
 * exchange federates them), and the rotation steps of the admin API. Each step persists the
 * ring before publishing it, so a restart never signs with a key the bundle does not carry. Thread-safe (one lock:
 * steps are rare; signing only reads the ring).
 */
@ApplicationScoped
@Startup
public class JwtAuthorityService {
    private static final Logger LOG = Logger.getLogger(JwtAuthorityService.class);

    private final ReplicaKeyDirectory replicas;
    private final LocalBundle bundle;
    private final JwtKeyStore store;
    private final Clock clock;
    private final JwtConfig config;
    private volatile JwtKeyRing ring;

    @Inject
    public JwtAuthorityService(TrustService trust, GatewayConfig gateway, JwtConfig config, Clock clock,
            EnrolmentStores stores) {
        this.bundle = trust.runtime().localBundle();
        this.replicas = new ReplicaKeyDirectory(stores.cacheManager(), trust.runtime().trustDomain(), bundle, clock,
                config.replicaLease(), config.svidTtl());
        this.store = new JwtKeyStore(gateway.dataDir().resolve("jwt"));
        this.clock = clock;
        this.config = config;
        try {
            JwtKeyRing loaded = store.load().orElseGet(() -> JwtKeyRing.of(JwtSigningKey.generate()));
            commit(loaded.pruned(clock.instant()));
        } catch (IOException e) {
            throw new UncheckedIOException("starting the JWT signing authority failed: " + e.getMessage(), e);
        }
        LOG.infof("JWT-SVID signing key %s (ES256) of replica %s, published in the bundle of %s with the other "
                + "replicas' keys %s", ring.active().keyId(), replicas.replicaName(), trust.runtime().trustDomain(),
                bundle.current().jwtAuthorities().stream().map(JwtAuthority::keyId).toList());
    }

    /** Signs a JWT-SVID for {@code subject}; the caller has already decided that the requester may have it. */
    public JwtSvid sign(SpiffeId subject, List<String> audience) {
        return JwtSvidSigner.sign(ring.active(), subject, audience, clock.instant(), config.svidTtl());
    }

    public JwtKeyRing ring() {
        return ring;
    }

    /** A new key, published now, signing from {@link #activate}. */
    public synchronized JwtKeyRing prepare() throws IOException {
        return commit(ring.pruned(clock.instant()).prepare(JwtSigningKey.generate()));
    }

    public synchronized JwtKeyRing activate() throws IOException {
        return commit(ring.pruned(clock.instant()).activate(clock.instant(), config.svidTtl()));
    }

    public synchronized JwtKeyRing retire(String keyId) throws IOException {
        return commit(ring.retire(keyId, clock.instant()));
    }

    private JwtKeyRing commit(JwtKeyRing next) throws IOException {
        store.save(next);
        this.ring = next;
        replicas.announce(next.published());
        return next;
    }

    @PreDestroy
    void stop() {
        replicas.close();
    }

    /** The kids this replica's ring publishes, for logs and the admin view. */
    public List<String> publishedKeyIds() {
        return ring.published().stream().map(JwtAuthority::keyId).toList();
    }

    /** The kids the cluster's bundle publishes: every replica's (as this replica serves it). */
    public List<String> bundleKeyIds() {
        return bundle.current().jwtAuthorities().stream().map(JwtAuthority::keyId).toList();
    }
}
