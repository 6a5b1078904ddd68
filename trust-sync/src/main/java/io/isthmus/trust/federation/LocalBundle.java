package io.isthmus.trust.federation;

import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * This cluster's own bundle: which of its CAs verifiers should accept, and its sequence. The active signing CA
 * is always published; a next CA can be published ahead of activation and an old one kept until it expires
 * (rotation with overlap); a withdrawn CA revokes everything it signed, federation-wide, within one refresh.
 * Every change advances the sequence and is persisted through the {@link BundleStore}. Methods are
 * synchronized: changes are rare and must be ordered.
 */
public final class LocalBundle {
    private static final Logger LOG = Logger.getLogger(LocalBundle.class);

    private final TrustDomain trustDomain;
    private final BundleStore store;
    private final AuthorityValidator validator;
    private final Clock clock;
    private final Duration refreshHint;
    private X509Certificate active;

    public LocalBundle(TrustDomain trustDomain, BundleStore store, AuthorityValidator validator, Clock clock,
            Duration refreshHint) {
        this.trustDomain = trustDomain;
        this.store = store;
        this.validator = validator;
        this.clock = clock;
        this.refreshHint = refreshHint;
    }

    /**
     * Loads the persisted local bundle (so the sequence continues across restarts), drops expired CAs, makes
     * sure {@code activeCa} is published, and stores the result.
     */
    public synchronized TrustBundle initialize(X509Certificate activeCa) throws IOException {
        validator.validate(activeCa, trustDomain, clock.instant());
        this.active = activeCa;
        TrustBundle base = new TrustBundle(trustDomain, List.of(), List.of(), 0, Optional.of(refreshHint));
        try {
            Optional<ParsedBundle> persisted = store.readPersisted(trustDomain);
            if (persisted.isPresent()) {
                base = persisted.get().bundle();
            }
        } catch (IllegalArgumentException | IOException e) {
            LOG.warnf("ignoring unreadable persisted bundle of %s: %s", trustDomain, e.getMessage());
        }
        List<X509Certificate> cas = new ArrayList<>();
        Instant now = clock.instant();
        for (X509Certificate ca : base.x509Authorities()) {
            if (ca.getNotAfter().toInstant().isAfter(now)) {
                cas.add(ca);
            }
        }
        if (!cas.contains(activeCa)) {
            cas.add(activeCa);
        }
        TrustBundle next = new TrustBundle(trustDomain, cas, base.jwtAuthorities(), base.sequence(), Optional.of(refreshHint));
        if (!next.sameKeysAs(base) || base.sequence() == 0 || !base.refreshHint().equals(next.refreshHint())) {
            next = new TrustBundle(trustDomain, cas, base.jwtAuthorities(), nextSequence(base.sequence()),
                    Optional.of(refreshHint));
        }
        store.put(next);
        LOG.infof("bundle of %s: sequence %d, CAs %s", trustDomain, next.sequence(),
                next.x509Authorities().stream().map(Certificates::serialHex).toList());
        return next;
    }

    /**
     * Not synchronized: it only reads the store, and the trust runtime reads it while it holds its trust lock (a root
     * change), while a change of this bundle, holding this object's lock, waits for that trust lock in the store's
     * listener: with both locks taken, the two deadlocked.
     */
    public TrustBundle current() {
        return store.bundleFor(trustDomain).orElseThrow(() -> new IllegalStateException("local bundle not initialized"));
    }

    /** Publishes another CA of this trust domain (e.g. the next intermediate, ahead of its activation). */
    public synchronized TrustBundle publish(X509Certificate ca) throws IOException {
        validator.validate(ca, trustDomain, clock.instant());
        TrustBundle current = current();
        if (current.containsAuthority(ca)) {
            return current;
        }
        List<X509Certificate> cas = new ArrayList<>(current.x509Authorities());
        cas.add(ca);
        return replace(current.withX509Authorities(cas, nextSequence(current.sequence())),
                "published CA " + Certificates.describe(ca));
    }

    /** Makes {@code ca} the active signer's certificate; it must be published already or is published now. */
    public synchronized TrustBundle activate(X509Certificate ca) throws IOException {
        TrustBundle result = publish(ca);
        this.active = ca;
        return result;
    }

    /**
     * Withdraws the CA with this serial: every SVID it signed stops verifying anywhere in the federation once
     * peers refresh. The active signing CA cannot be withdrawn: activate another one first.
     *
     * @throws IllegalArgumentException when no such CA is published, or it is the active one
     */
    public synchronized TrustBundle withdraw(BigInteger serial) throws IOException {
        TrustBundle current = current();
        X509Certificate ca = current.authorityBySerial(serial).orElseThrow(() -> new IllegalArgumentException(
                "no CA with serial " + serial.toString(16) + " in the bundle of " + trustDomain + ", sequence "
                        + current.sequence()));
        if (ca.equals(active)) {
            throw new IllegalArgumentException("CA " + Certificates.describe(ca) + " is the active signer of "
                    + trustDomain + "; activate a new intermediate before withdrawing it");
        }
        List<X509Certificate> cas = new ArrayList<>(current.x509Authorities());
        cas.remove(ca);
        return replace(current.withX509Authorities(cas, nextSequence(current.sequence())),
                "withdrew CA " + Certificates.describe(ca));
    }

    /**
     * Publishes exactly {@code keys} as this trust domain's JWT authorities ({@code use: jwt-svid}), the set a
     * {@link io.isthmus.trust.jwt.JwtKeyRing} publishes; unchanged keys leave the bundle and its sequence alone.
     */
    public synchronized TrustBundle publishJwtAuthorities(List<JwtAuthority> keys) throws IOException {
        TrustBundle current = current();
        TrustBundle next = current.withJwtAuthorities(keys, current.sequence());
        if (next.sameKeysAs(current)) {
            return current;
        }
        return replace(current.withJwtAuthorities(keys, nextSequence(current.sequence())), "JWT authorities now "
                + keys.stream().map(JwtAuthority::keyId).toList());
    }

    /**
     * At least one more than {@code previous}, and never below the clock's epoch second: a cluster whose gateways
     * all lost their state (new pods, wiped disks) starts again above what its peers hold, instead of at 1, which
     * they would refuse as going backwards.
     */
    private long nextSequence(long previous) {
        return Math.max(previous + 1, clock.instant().getEpochSecond());
    }

    private TrustBundle replace(TrustBundle next, String what) throws IOException {
        store.put(next);
        LOG.infof("bundle of %s: %s; now sequence %d", trustDomain, what, next.sequence());
        return next;
    }
}
