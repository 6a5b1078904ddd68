package io.isthmus.trust.rotation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.bouncycastle.asn1.x500.X500Name;
import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CertificateAuthority;
import io.isthmus.trust.ca.InvalidAuthorityException;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.status.PeerStatusSource;
import io.isthmus.trust.status.TrustStatus;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Csrs;

/**
 * Rotates this cluster's intermediate CA with overlap, through phases every peer can observe:
 * {@code prepare} (a new key is generated here; its CSR is written), {@code sign} (offline, by the root; the signed
 * certificate is checked and stored), {@code publish} (the new CA joins this cluster's bundle next to the active
 * one), {@code wait} (until every peer reports that it holds it: {@link PeerCoverage}), {@code activate} (the new CA
 * signs; the gateway's own SVID is reissued; VM agents see their signer retiring and renew early) and {@code retire}
 * (the old CA leaves the bundle once the last SVID it signed has expired).
 *
 * <p>Every step is idempotent (asking again for a step already done answers with the current state) and
 * crash-safe: it writes its files first and the {@link RotationState} last ({@link RotationStore}), so a gateway killed
 * in the middle of a step is, after a restart, in the phase before it and simply does the step again. The clock
 * drives what needs no operator: {@link #tick()} retires the old CA when it is due, and runs every step of a rotation
 * started by a changed intermediate file ({@link #submit}).
 *
 * <p>Thread-safe: steps are serialized; the {@code wait} check asks peers outside the lock.
 */
public final class IntermediateRotation {
    private static final Logger LOG = Logger.getLogger(IntermediateRotation.class);

    private final TrustDomain trustDomain;
    private final RotationStore store;
    private final CertificateAuthority ca;
    private final LocalBundle bundle;
    private final AuthorityValidator authorities;
    private final RootsSource roots;
    private final PeerStatusSource peers;
    private final Runnable reissueOwnSvid;
    private final RotationSettings settings;
    private final Duration skew;
    private final Clock clock;
    private RotationState state;
    private volatile PeerCoverage coverage;
    private volatile Instant coverageAt;
    private volatile String lastError;

    /**
     * @param state the state loaded at start (see {@link #signerAtStart})
     * @param reissueOwnSvid reissues the gateway's own SVID with the active CA (called after activation)
     */
    public IntermediateRotation(TrustDomain trustDomain, RotationStore store, RotationState state, CertificateAuthority ca,
            LocalBundle bundle, AuthorityValidator authorities, RootsSource roots, PeerStatusSource peers,
            Runnable reissueOwnSvid, RotationSettings settings, Duration skew, Clock clock) {
        this.trustDomain = trustDomain;
        this.store = store;
        this.state = Objects.requireNonNull(state, "state");
        this.ca = ca;
        this.bundle = bundle;
        this.authorities = authorities;
        this.roots = roots;
        this.peers = peers;
        this.reissueOwnSvid = reissueOwnSvid;
        this.settings = settings;
        this.skew = skew;
        this.clock = clock;
    }

    /**
     * The state to start with. On a gateway's first start the configured intermediate is recorded as the signer
     * ({@code active.*}, and the state names its serial), so that a later start with other files (a Secret switched
     * to the next intermediate while this replica was down, or a restart between a switch and its activation) keeps
     * signing with it and takes the files as a new rotation, activated only once every peer holds the new CA, instead
     * of signing at once with a CA no peer holds yet. A state from before this record existed is recorded only while
     * its files still hold the signer it started with.
     */
    public static RotationState recordFirstSigner(RotationStore store, RotationState state, CaCredential configured)
            throws IOException {
        String serial = Certificates.serialHex(configured.certificate());
        boolean idle = state.phase() == RotationPhase.IDLE;
        if (state.activeSerial().isPresent()
                || !(idle || state.previousSerial().equals(Optional.of(serial)))) {
            return state;
        }
        store.writeActive(configured);
        RotationState recorded = state.signerRecorded(serial);
        store.save(recorded);
        return recorded;
    }

    /**
     * The signing credential to start with: the one a rotation activated (its {@code active.*} files, when the
     * persisted state names it), else the configured one.
     */
    public static CaCredential signerAtStart(RotationStore store, RotationState state, CaCredential configured) {
        if (state.activeSerial().isEmpty()) {
            return configured;
        }
        CaCredential active = store.active().orElseThrow(() -> new IllegalStateException("the rotation state in "
                + store.dir() + " names the active intermediate serial " + state.activeSerial().get()
                + " but active.key/active.pem are missing; restore them or remove " + store.dir()));
        String serial = Certificates.serialHex(active.certificate());
        if (!serial.equals(state.activeSerial().get())) {
            throw new IllegalStateException("the rotation state in " + store.dir() + " names the active intermediate "
                    + state.activeSerial().get() + " but active.pem holds " + serial);
        }
        return active;
    }

    // ---- steps ----

    /** {@code prepare}: a new P-256 key, generated and kept here (0600); returns its CSR (PEM) for the root to sign. */
    public synchronized String prepare() {
        if (state.phase() == RotationPhase.PREPARED) {
            return read(() -> store.nextCsr()).orElseThrow();
        }
        requireNoRotation("prepare");
        KeyPair keys = Crypto.generateEcP256();
        String csr = Csrs.create(keys, new X500Name("O=Isthmus,OU=" + ouOf(trustDomain) + ",CN=Isthmus intermediate"));
        write(() -> store.writeNextKey(keys.getPrivate(), csr));
        commit(state.start(RotationPhase.PREPARED, activeSerial(), false, clock.instant()));
        LOG.infof("rotation of %s: prepared a new intermediate key; sign its CSR with the federation root "
                + "(isthmus ca sign-csr) and submit the certificate", trustDomain);
        return csr;
    }

    /**
     * {@code sign}: takes the certificate the root signed over the prepared key. Refused (nothing changes) unless it
     * is a CA of this trust domain, under a federation root held here, valid now, and for the prepared key.
     */
    public synchronized RotationView sign(List<X509Certificate> presented) {
        if (state.phase().inProgress() && state.phase() != RotationPhase.PREPARED) {
            if (!presented.isEmpty() && state.nextSerial().equals(Optional.of(Certificates.serialHex(presented.get(0))))) {
                return view();
            }
            throw refuse(RotationRefusal.WRONG_PHASE, "the rotation of " + trustDomain + " is past signing (phase "
                    + state.phase().label() + ", new CA serial " + state.nextSerial().orElse("?") + "); abort it to "
                    + "start over");
        }
        if (state.phase() != RotationPhase.PREPARED) {
            throw refuse(RotationRefusal.NOT_PREPARED, "no new key was prepared for " + trustDomain
                    + "; run 'isthmus rotate intermediate' (or POST .../prepare) first");
        }
        PrivateKey key = read(() -> Optional.of(store.nextKey().orElseThrow())).get();
        PublicKey prepared = SvidIssuer.verifiedKey(read(() -> store.nextCsr()).orElseThrow()
                .getBytes(StandardCharsets.US_ASCII));
        CaCredential next = accept(presented, prepared, key);
        write(() -> store.writeNext(next));
        commit(state.signed(Certificates.serialHex(next.certificate()), clock.instant()));
        LOG.infof("rotation of %s: new intermediate %s accepted (valid until %s)", trustDomain,
                Certificates.describe(next.certificate()), next.certificate().getNotAfter().toInstant());
        return view();
    }

    /**
     * A new intermediate whose key was made elsewhere (a changed {@code isthmus.ca.intermediate-*} file, e.g. a
     * Kubernetes Secret update): checked like {@link #sign}, then, when {@code automatic}, published, activated once
     * every peer holds it, and retired, by {@link #tick()} alone.
     */
    public synchronized RotationView submit(CaCredential next, boolean automatic) {
        String serial = Certificates.serialHex(next.certificate());
        if (serial.equals(activeSerial()) || state.nextSerial().equals(Optional.of(serial))) {
            return view();
        }
        if (state.usedSerials().contains(serial)) {
            throw refuse(RotationRefusal.WRONG_PHASE, "intermediate serial " + serial + " of " + trustDomain
                    + " was used before and has been retired; it cannot sign again: issue a new one");
        }
        requireNoRotation("start a rotation to serial " + serial);
        CaCredential checked = accept(next.chain(), next.certificate().getPublicKey(), next.key());
        write(() -> store.writeNext(checked));
        Instant now = clock.instant();
        commit(state.start(RotationPhase.PREPARED, activeSerial(), automatic, now).signed(serial, now));
        LOG.infof("rotation of %s: new intermediate %s submitted%s", trustDomain, Certificates.describe(next.certificate()),
                automatic ? "; it is published, activated once every peer holds it, and the old one retired, automatically"
                        : "");
        return view();
    }

    /** {@code publish}: the new CA joins this cluster's bundle next to the active one. */
    public synchronized RotationView publish() {
        switch (state.phase()) {
            case PUBLISHED, ACTIVATED, RETIRED -> {
                return view();
            }
            case SIGNED -> {
                CaCredential next = nextCredential();
                TrustBundle published = write(() -> bundle.publish(next.certificate()));
                commit(state.published(published.sequence(), clock.instant()));
                LOG.infof("rotation of %s: published %s in bundle sequence %d; waiting until every peer holds it",
                        trustDomain, Certificates.describe(next.certificate()), published.sequence());
                return view();
            }
            default -> throw refuse(state.phase() == RotationPhase.IDLE ? RotationRefusal.NOT_PREPARED
                    : RotationRefusal.WRONG_PHASE, "nothing to publish: the rotation of " + trustDomain + " is in phase "
                            + state.phase().label() + " (submit the signed intermediate first)");
        }
    }

    /** {@code wait}: asks every peer which of our CAs it holds (blocking, at most the peer status timeout). */
    public PeerCoverage checkPeers() {
        Optional<String> next;
        long sequence;
        synchronized (this) {
            next = state.nextSerial();
            sequence = state.publishedSequence();
        }
        if (next.isEmpty()) {
            throw refuse(RotationRefusal.NOT_PREPARED, "there is no new CA of " + trustDomain + " to look for");
        }
        PeerCoverage result = PeerCoverage.of(trustDomain, next.get(), sequence,
                peers.fetchAll(settings.peerStatusTimeout()));
        coverage = result;
        coverageAt = clock.instant();
        return result;
    }

    /**
     * {@code activate}: the new CA signs from now on and the gateway's SVID is reissued. Refused while a peer does not
     * hold the new CA (named), or before VM agents had one refresh interval to fetch it, unless {@code force}.
     */
    public RotationView activate(boolean force) {
        PeerCoverage checked = null;
        synchronized (this) {
            if (state.phase() == RotationPhase.ACTIVATED || state.phase() == RotationPhase.RETIRED
                    && state.nextSerial().isPresent()) {
                return view();
            }
            if (state.phase() != RotationPhase.PUBLISHED) {
                throw refuse(state.phase() == RotationPhase.IDLE ? RotationRefusal.NOT_PREPARED
                        : RotationRefusal.WRONG_PHASE, "cannot activate: the rotation of " + trustDomain + " is in phase "
                                + state.phase().label() + "; the new CA must be published first");
            }
        }
        if (!force) {
            checked = checkPeers();
        }
        synchronized (this) {
            if (state.phase() != RotationPhase.PUBLISHED) {
                return view();
            }
            Instant now = clock.instant();
            if (!force) {
                if (!checked.complete()) {
                    throw refuse(RotationRefusal.PEERS_LACK_CA, "not activating intermediate serial "
                            + state.nextSerial().get() + " of " + trustDomain + ": " + checked.missing().size()
                            + " peer(s) do not hold it: " + checked.describeMissing()
                            + "; wait for them (or --force, breaking their verification of this cluster)");
                }
                Instant agentsReady = state.since().orElse(now).plus(settings.agentRefresh());
                if (now.isBefore(agentsReady)) {
                    throw refuse(RotationRefusal.AGENTS_MAY_LACK_CA, "not activating intermediate serial "
                            + state.nextSerial().get() + " before " + agentsReady + ": it was published at "
                            + state.since().orElse(now) + " and VM agents fetch bundles every " + settings.agentRefresh()
                            + " (or --force)");
                }
            }
            CaCredential next = nextCredential();
            try {
                authorities.validate(next.certificate(), trustDomain, now);
            } catch (InvalidAuthorityException e) {
                throw refuse(CandidateIntermediate.refusalOf(e), "cannot activate: " + e.getMessage());
            }
            write(() -> store.writeActive(next));
            Instant retireAt = now.plus(settings.retireAfter()).plus(skew);
            commit(state.activated(retireAt, now));
            ca.install(next);
            write(() -> bundle.activate(next.certificate()));
            reissueOwnSvid.run();
            LOG.infof("rotation of %s: activated %s%s; the old CA %s retires at %s", trustDomain,
                    Certificates.describe(next.certificate()), force ? " (forced)" : "",
                    state.previousSerial().orElse("?"), retireAt);
            return view();
        }
    }

    /**
     * {@code retire}: the old CA leaves the bundle, which ends trust in anything it signed. Refused before the last
     * SVID it signed has expired, unless {@code force} (which revokes those SVIDs now).
     */
    public synchronized RotationView retire(boolean force) {
        if (state.phase() == RotationPhase.RETIRED) {
            return view();
        }
        if (state.phase() != RotationPhase.ACTIVATED) {
            throw refuse(state.phase() == RotationPhase.IDLE ? RotationRefusal.NOT_PREPARED : RotationRefusal.WRONG_PHASE,
                    "cannot retire: the rotation of " + trustDomain + " is in phase " + state.phase().label()
                            + "; the new CA must be activated first");
        }
        Instant now = clock.instant();
        Instant due = state.retireAt().orElseThrow();
        if (!force && now.isBefore(due)) {
            throw refuse(RotationRefusal.NOT_DUE, "not retiring intermediate serial " + state.previousSerial().orElse("?")
                    + " of " + trustDomain + " before " + due + ": SVIDs it signed may be valid until then (or --force, "
                    + "which revokes them now)");
        }
        state.previousSerial().ifPresent(serial -> {
            BigInteger n = new BigInteger(serial.replace(":", ""), 16);
            if (bundle.current().authorityBySerial(n).isPresent()) {
                write(() -> bundle.withdraw(n));
            }
        });
        write(store::clearNext);
        commit(state.retired(now));
        LOG.infof("rotation of %s: retired intermediate serial %s%s; rotation complete (%s)", trustDomain,
                state.previousSerial().orElse("?"), force ? " (forced)" : "", String.join(", ", view().stepDurations()));
        return view();
    }

    /** Gives up a rotation that has not been activated: the new CA leaves the bundle, its key is deleted. */
    public synchronized RotationView abort() {
        if (!state.phase().inProgress()) {
            return view();
        }
        if (state.phase() == RotationPhase.ACTIVATED) {
            throw refuse(RotationRefusal.WRONG_PHASE, "the new CA of " + trustDomain + " already signs; complete the "
                    + "rotation (retire) instead, or start a new one afterwards");
        }
        if (state.phase() == RotationPhase.PUBLISHED) {
            BigInteger n = new BigInteger(state.nextSerial().orElseThrow().replace(":", ""), 16);
            if (bundle.current().authorityBySerial(n).isPresent()) {
                write(() -> bundle.withdraw(n));
            }
        }
        write(store::clearNext);
        RotationPhase was = state.phase();
        commit(state.aborted());
        LOG.infof("rotation of %s: aborted in phase %s", trustDomain, was.label());
        return view();
    }

    /**
     * The clock's part, called periodically: retires the old CA when it is due; for an automatic rotation, also
     * publishes and activates (once every peer holds the new CA). Never throws; a step that cannot run yet is retried
     * at the next tick.
     */
    public void tick() {
        try {
            RotationState s = state();
            Instant now = clock.instant();
            if (s.phase() == RotationPhase.ACTIVATED && s.retireAt().isPresent() && !now.isBefore(s.retireAt().get())) {
                retire(false);
            } else if (s.automatic() && s.phase() == RotationPhase.SIGNED) {
                publish();
            } else if (s.automatic() && s.phase() == RotationPhase.PUBLISHED) {
                activate(false);
            }
            lastError = null;
        } catch (RotationException e) {
            if (!e.getMessage().equals(lastError)) {
                LOG.infof("rotation of %s: %s (%s); retrying", trustDomain, e.getMessage(), e.refusal().code());
            }
            lastError = e.getMessage();
        } catch (RuntimeException e) {
            if (!String.valueOf(e.getMessage()).equals(lastError)) {
                LOG.warnf("rotation of %s: a scheduled step failed: %s; retrying", trustDomain, e.toString());
            }
            lastError = String.valueOf(e.getMessage());
        }
    }

    // ---- reading ----

    public synchronized RotationState state() {
        return state;
    }

    public RotationView view() {
        RotationState s;
        synchronized (this) {
            s = state;
        }
        X509Certificate activeCert = ca.current().certificate();
        TrustStatus.AuthorityInfo active = TrustStatus.AuthorityInfo.of(activeCert);
        Instant now = clock.instant();
        double remaining = active.remainingFraction(now);
        Optional<String> warning = Optional.empty();
        if (remaining < settings.expiryWarningFraction()) {
            warning = Optional.of(String.format("intermediate serial %s of %s has %.0f%% of its lifetime left (expires "
                    + "%s, in %s); rotate it: isthmus rotate intermediate", active.serial(), trustDomain,
                    remaining * 100, active.notAfter(), Duration.between(now, active.notAfter()).withNanos(0)));
        }
        return new RotationView(s.phase(), s.since(), s.reached(), active, remaining, warning, s.nextSerial(),
                s.previousSerial(), s.publishedSequence(), s.retireAt(), s.automatic(), Optional.ofNullable(coverage),
                Optional.ofNullable(coverageAt), Optional.ofNullable(lastError));
    }

    /** Serials of intermediates this cluster retired (a configured file still holding one is stale). */
    public synchronized List<String> usedSerials() {
        return state.usedSerials();
    }

    // ---- internals ----

    private String activeSerial() {
        return Certificates.serialHex(ca.current().certificate());
    }

    private void requireNoRotation(String what) {
        if (state.phase().inProgress()) {
            throw refuse(RotationRefusal.ROTATION_IN_PROGRESS, "cannot " + what + ": the rotation of " + trustDomain
                    + " to serial " + state.nextSerial().orElse("(not signed yet)") + " is in phase "
                    + state.phase().label() + "; complete or abort it first");
        }
    }

    private CaCredential accept(List<X509Certificate> presented, PublicKey prepared, PrivateKey key) {
        CandidateIntermediate.Verdict verdict = CandidateIntermediate.check(presented, prepared, trustDomain,
                authorities, roots.roots(), clock.instant());
        if (verdict instanceof CandidateIntermediate.Verdict.Refused r) {
            throw refuse(r.refusal(), r.message());
        }
        List<X509Certificate> chain = ((CandidateIntermediate.Verdict.Accepted) verdict).chain();
        try {
            return new CaCredential(key, chain);
        } catch (IllegalArgumentException e) {
            throw refuse(RotationRefusal.KEY_MISMATCH, e.getMessage());
        }
    }

    private CaCredential nextCredential() {
        try {
            return store.next().orElseThrow(() -> new IllegalStateException("the new intermediate's files (next.key, "
                    + "next.pem) are missing from " + store.dir()));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the new intermediate in " + store.dir() + " is unreadable: "
                    + e.getMessage(), e);
        }
    }

    private void commit(RotationState next) {
        write(() -> store.save(next));
        state = next;
    }

    private RotationException refuse(RotationRefusal refusal, String message) {
        return new RotationException(refusal, message);
    }

    private static String ouOf(TrustDomain td) {
        return td.name().length() <= 64 ? td.name() : "trust-domain";
    }

    @FunctionalInterface
    private interface IoStep<T> {
        T run() throws IOException;
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    private static <T> T write(IoStep<T> step) {
        try {
            return step.run();
        } catch (IOException e) {
            throw new UncheckedIOException("rotation: writing to disk failed: " + e.getMessage(), e);
        }
    }

    private static void write(IoAction step) {
        try {
            step.run();
        } catch (IOException e) {
            throw new UncheckedIOException("rotation: writing to disk failed: " + e.getMessage(), e);
        }
    }

    private static <T> Optional<T> read(IoStep<Optional<T>> step) {
        return write(step);
    }
}
