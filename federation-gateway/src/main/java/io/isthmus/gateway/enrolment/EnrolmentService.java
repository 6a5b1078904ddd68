package io.isthmus.gateway.enrolment;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CsrException;
import io.isthmus.trust.ca.IssuanceException;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.x509.Certificates;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Enrolment (join token + CSR), renewal (current SVID + CSR) and the token and identity administration behind
 * the REST resources. Every decision is audited and counted. The order of checks makes refusals side-effect free:
 * the CSR is verified and the identity's revocation checked before the token use is recorded, so a bad request
 * never burns a token. Thread-safe.
 */
@ApplicationScoped
public class EnrolmentService {
    private final TrustService trust;
    private final EnrolmentStores stores;
    private final EnrolmentConfig config;
    private final Clock clock;
    private final EnrolmentAudit audit;
    private final SvidIssuer issuer;
    private final SharedRateLimiter limiter;
    private final VmIdentityPolicy policy;
    private final Duration svidTtl;
    private final MeterRegistry meters;
    private final Counter issuedByEnrolment;
    private final Counter issuedByRenewal;
    private final Counter issuedForWorkloads;

    @Inject
    public EnrolmentService(TrustService trust, EnrolmentStores stores, EnrolmentConfig config, GatewayConfig gateway,
            Clock clock, EnrolmentAudit audit, MeterRegistry meters) {
        this.trust = trust;
        this.stores = stores;
        this.config = config;
        this.clock = clock;
        this.audit = audit;
        this.meters = meters;
        this.issuer = new SvidIssuer(clock);
        this.limiter = new SharedRateLimiter(stores.rateBuckets(),
                new RateLimiter.Limit(config.rateLimit().burst(), config.rateLimit().perMinute()), clock);
        this.policy = new VmIdentityPolicy(trust.runtime().trustDomain(), gateway.identity().namespace(),
                config.allowedNamespaces());
        this.svidTtl = EnrolmentConfig.vmSvidTtl(config, gateway.ca().svidTtl());
        this.issuedByEnrolment = Counter.builder("isthmus_enrolment_svids_issued").tag("kind", "enrol")
                .description("VM SVIDs issued").register(meters);
        this.issuedByRenewal = Counter.builder("isthmus_enrolment_svids_issued").tag("kind", "renew")
                .description("VM SVIDs issued").register(meters);
        this.issuedForWorkloads = Counter.builder("isthmus_enrolment_svids_issued").tag("kind", "workload")
                .description("VM SVIDs issued").register(meters);
    }

    /** SVIDs issued to VMs since start (enrolments and renewals). */
    public long issuedCount() {
        return (long) (issuedByEnrolment.count() + issuedByRenewal.count());
    }

    /** The trust plane this service issues from (for the agent's trust endpoint). */
    io.isthmus.trust.runtime.TrustRuntime trust() {
        return trust.runtime();
    }

    /** Which SPIFFE IDs are VM identities here (for the registration entries' admin API). */
    public VmIdentityPolicy vmIdentityPolicy() {
        return policy;
    }

    public TrustDomain trustDomain() {
        return trust.runtime().trustDomain();
    }

    /** Enrols with a join token; the identity comes from the token, whatever the CSR asks for. */
    public IssuedSvid enrol(String source, String tokenText, String csrPem) {
        String tokenId = null;
        SpiffeId identity = null;
        try {
            SharedRateLimiter.Verdict rate = limiter.tryAcquire(source);
            if (rate instanceof SharedRateLimiter.Limited l) {
                throw new EnrolmentException(EnrolmentError.RATE_LIMITED, "too many enrolment attempts from " + source
                        + " across this cluster's gateway replicas (isthmus.enrolment.rate-limit); retry after "
                        + Math.max(1, l.retryAfter().toSeconds()) + "s", Optional.of(l.retryAfter()));
            }
            if (rate instanceof SharedRateLimiter.Unavailable u) {
                throw new EnrolmentException(EnrolmentError.RATE_LIMIT_UNAVAILABLE, "the enrolment rate limit shared by"
                        + " this cluster's gateway replicas cannot be checked, so the attempt is refused (fail closed): "
                        + u.detail() + "; retry shortly", Optional.of(Duration.ofSeconds(5)));
            }
            JoinTokenSecrets.Presented presented = JoinTokenSecrets.parse(tokenText).orElseThrow(() ->
                    new EnrolmentException(EnrolmentError.TOKEN_UNKNOWN, "the join token does not have the form "
                            + "ijt1.<id>.<secret> printed by 'isthmus token create': " + TokenRejection.UNKNOWN.advice()));
            tokenId = presented.id();
            PublicKey key = verifiedKey(csrPem);
            Optional<JoinToken> stored = stores.tokens().find(presented.id());
            if (stored.isPresent() && JoinTokenSecrets.matches(presented.secret(), stored.get().secretHash())) {
                identity = stored.get().identity();
                Optional<VmIdentity> known = stores.identities().find(identity);
                if (known.isPresent() && known.get().revoked()) {
                    throw new EnrolmentException(EnrolmentError.IDENTITY_REVOKED, identity + " was revoked at "
                            + known.get().revokedAt().orElseThrow() + known.get().revokeReason().map(r -> " (" + r + ")")
                                    .orElse("") + "; a join token cannot bring it back");
                }
            }
            TokenVerdict verdict = stores.tokens().consume(presented.id(), presented.secret(), clock.instant());
            if (verdict instanceof TokenVerdict.Rejected r) {
                throw new EnrolmentException(EnrolmentError.of(r.reason()), r.message());
            }
            JoinToken used = ((TokenVerdict.Accepted) verdict).token();
            identity = used.identity();
            IssuedSvid issued = issue(identity, key);
            stores.identities().enrolled(identity, clock.instant());
            issuedByEnrolment.increment();
            audit(new EnrolmentAudit.Entry("enrol", true, "issued", source, null, identity.toString(), tokenId,
                    Certificates.serialHex(issued.leaf()), "uses " + used.uses() + "/" + used.maxUses()));
            return issued;
        } catch (EnrolmentException e) {
            deny("enrol", e, source, null, identity, tokenId);
            throw e;
        } catch (RuntimeException e) {
            EnrolmentException wrapped = unavailable(e);
            deny("enrol", wrapped, source, null, identity, tokenId);
            throw wrapped;
        }
    }

    /** Renews the SVID of an enrolled, unrevoked VM that authenticated with its current SVID. */
    public IssuedSvid renew(String source, List<X509Certificate> peerChain, String csrPem) {
        SpiffeId identity = null;
        try {
            identity = authenticateVm(peerChain);
            Optional<VmIdentity> known = stores.identities().find(identity);
            if (known.isEmpty()) {
                throw new EnrolmentException(EnrolmentError.IDENTITY_NOT_ENROLLED, identity
                        + " never enrolled as a VM in this cluster; only enrolled VMs renew here");
            }
            if (known.get().revoked()) {
                throw new EnrolmentException(EnrolmentError.IDENTITY_REVOKED, identity + " was revoked at "
                        + known.get().revokedAt().orElseThrow() + known.get().revokeReason().map(r -> " (" + r + ")")
                                .orElse("") + "; re-enrolment needs an administrator");
            }
            Duration ttl = signingTtl();
            PublicKey key = verifiedKey(csrPem);
            IssuedSvid issued = issue(identity, key, null, ttl);
            issuedByRenewal.increment();
            audit(new EnrolmentAudit.Entry("renew", true, "issued", source, identity.toString(), identity.toString(), null,
                    Certificates.serialHex(issued.leaf()), "previous serial " + Certificates.serialHex(peerChain.get(0))));
            return issued;
        } catch (EnrolmentException e) {
            deny("renew", e, source, identity == null ? null : identity.toString(), identity, null);
            throw e;
        } catch (RuntimeException e) {
            EnrolmentException wrapped = unavailable(e);
            deny("renew", wrapped, source, null, identity, null);
            throw wrapped;
        }
    }

    /**
     * Signs an SVID for a workload on an agent's VM: the agent authenticates with its own current SVID exactly as
     * renewal does, and may only ask for its own ID or one under its path ({@link AgentSubjects}). The key is the
     * workload's, made by the agent; only the CSR comes here. The workload's ID is not an enrolled identity of its
     * own: revoking the agent's identity stops its workloads' renewals too.
     */
    public IssuedSvid issueForWorkload(String source, List<X509Certificate> peerChain, String requested, String csrPem) {
        SpiffeId agent = null;
        try {
            agent = enrolledVm(peerChain);
            AgentSubjects.Verdict verdict = AgentSubjects.mayIssue(agent, requested);
            if (verdict instanceof AgentSubjects.Denied d) {
                throw new EnrolmentException(EnrolmentError.WORKLOAD_ID_REFUSED, d.message() + " ("
                        + d.reason().label() + ")");
            }
            SpiffeId id = ((AgentSubjects.Allowed) verdict).id();
            IssuedSvid issued = issue(id, verifiedKey(csrPem), agent, signingTtl());
            issuedForWorkloads.increment();
            audit(new EnrolmentAudit.Entry("workload.issue", true, "issued", source, agent.toString(), id.toString(), null,
                    Certificates.serialHex(issued.leaf()), null));
            return issued;
        } catch (EnrolmentException e) {
            deny("workload.issue", e, source, agent == null ? null : agent.toString(), null, null);
            throw e;
        } catch (RuntimeException e) {
            EnrolmentException wrapped = unavailable(e);
            deny("workload.issue", wrapped, source, agent == null ? null : agent.toString(), null, null);
            throw wrapped;
        }
    }

    /**
     * The enrolled, unrevoked VM identity proven by {@code peerChain} (its current SVID as TLS client certificate),
     * checked exactly as renewal checks it, a workload SVID refused ({@link AgentCredential}). Used by the other
     * VM-agent calls (registration entries, JWT-SVIDs, service registration). A workload SVID's refusal is audited
     * under {@code action}, as renewal and workload issuance audit theirs: it is a local process trying to act as
     * its VM's agent.
     *
     * @throws EnrolmentException with the same codes renewal uses, {@code replica-cut-off} included
     */
    public SpiffeId authenticateEnrolledVm(String action, String source, List<X509Certificate> peerChain) {
        try {
            SpiffeId vm = enrolledVm(peerChain);
            signingTtl(); // refuses (replica-cut-off) once this replica has been cut off for longer than its grace
            return vm;
        } catch (EnrolmentException e) {
            if (e.error() == EnrolmentError.WORKLOAD_SVID_NOT_AN_AGENT) {
                deny(action, e, source, null, null, null);
            }
            throw e;
        }
    }

    private SpiffeId enrolledVm(List<X509Certificate> peerChain) {
        SpiffeId identity = authenticateVm(peerChain);
        Optional<VmIdentity> known = stores.identities().find(identity);
        if (known.isEmpty()) {
            throw new EnrolmentException(EnrolmentError.IDENTITY_NOT_ENROLLED, identity
                    + " never enrolled as a VM in this cluster");
        }
        if (known.get().revoked()) {
            throw new EnrolmentException(EnrolmentError.IDENTITY_REVOKED, identity + " was revoked at "
                    + known.get().revokedAt().orElseThrow());
        }
        return identity;
    }

    /**
     * The lifetime of an X.509 SVID this replica signs for a VM now: the configured one, or less while it is cut off
     * from the majority of its cluster's replicas ({@link CutOffRenewal}).
     *
     * @throws EnrolmentException {@code replica-cut-off} once it has been cut off for longer than the grace
     */
    private Duration signingTtl() {
        return signingTtl(svidTtl);
    }

    /**
     * The lifetime anything else this replica signs for a VM or a workload under it may have now, {@code wanted} (a
     * JWT-SVID's): the same bound as an X.509 SVID's, so that while this replica is cut off nothing it signs outlives
     * the grace.
     *
     * @throws EnrolmentException {@code replica-cut-off} once it has been cut off for longer than the grace
     */
    public Duration signingTtl(Duration wanted) {
        ReplicaCutOff cutOff = stores.cutOff();
        CutOffRenewal.Verdict verdict = CutOffRenewal.decide(clock.instant(), cutOff.since(), cutOff.grace(), wanted);
        if (verdict instanceof CutOffRenewal.Refuse r) {
            throw new EnrolmentException(EnrolmentError.REPLICA_CUT_OFF, r.message(),
                    Optional.of(Duration.ofSeconds(30)));
        }
        return ((CutOffRenewal.Sign) verdict).ttl();
    }

    private SpiffeId authenticateVm(List<X509Certificate> peerChain) {
        if (peerChain == null || peerChain.isEmpty()) {
            throw new EnrolmentException(EnrolmentError.CLIENT_CERTIFICATE_REQUIRED,
                    "renewal needs the VM's current SVID as TLS client certificate; none was presented");
        }
        SvidVerdict verdict = trust.runtime().verifier().verify(peerChain);
        if (verdict instanceof SvidVerdict.Rejected r) {
            throw new EnrolmentException(EnrolmentError.PEER_REJECTED, "client SVID rejected (" + r.reason().label() + "): "
                    + r.message());
        }
        SpiffeId id = ((SvidVerdict.Verified) verdict).id();
        String why = policy.check(id);
        if (why != null) {
            throw new EnrolmentException(EnrolmentError.NOT_A_VM_IDENTITY, why);
        }
        if (AgentCredential.check(peerChain.get(0)) instanceof AgentCredential.WorkloadSvid w) {
            throw new EnrolmentException(EnrolmentError.WORKLOAD_SVID_NOT_AN_AGENT, id + " presented a workload SVID"
                    + " (serial " + Certificates.serialHex(peerChain.get(0)) + ", signed for a workload through agent "
                    + w.issuedThrough() + "), not the agent's own: only the VM agent's own SVID, from enrolment or "
                    + "renewal, may call the agent API");
        }
        return id;
    }

    private PublicKey verifiedKey(String csrPem) {
        if (csrPem == null || csrPem.isBlank()) {
            throw new EnrolmentException(EnrolmentError.CSR_MALFORMED, "the request has no csr (a PEM PKCS#10 request)");
        }
        try {
            return SvidIssuer.verifiedKey(csrPem.getBytes(StandardCharsets.US_ASCII));
        } catch (CsrException e) {
            throw new EnrolmentException(EnrolmentError.of(e.error()), e.getMessage());
        }
    }

    private IssuedSvid issue(SpiffeId id, PublicKey key) {
        return issue(id, key, null, svidTtl);
    }

    /**
     * @param throughAgent for a workload's SVID, the agent it is issued through (the SVID is marked so that it can
     *                     never act as the agent); null for a VM's own SVID
     */
    private IssuedSvid issue(SpiffeId id, PublicKey key, SpiffeId throughAgent, Duration ttl) {
        CaCredential ca = trust.runtime().ca().current();
        X509Certificate leaf;
        try {
            leaf = throughAgent == null ? issuer.issueCertificate(ca, id, key, ttl)
                    : issuer.issueWorkloadCertificate(ca, id, key, ttl, throughAgent);
        } catch (IssuanceException e) {
            throw new EnrolmentException(EnrolmentError.ISSUANCE_FAILED, e.getMessage());
        }
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(leaf);
        chain.addAll(ca.chain());
        return new IssuedSvid(id, chain, trust.runtime().store().snapshot());
    }

    // ---- administration ----

    /** A new join token; the returned text is shown once and never stored. */
    public record CreatedToken(JoinToken token, String text) {
    }

    public CreatedToken createToken(String principal, String namespace, String serviceAccount, Optional<Duration> ttl,
            Optional<Integer> maxUses) {
        SpiffeId identity;
        try {
            identity = SpiffeId.ofServiceAccount(trustDomain(), namespace, serviceAccount);
        } catch (InvalidSpiffeIdException | NullPointerException e) {
            throw adminDeny("token.create", principal, new EnrolmentException(EnrolmentError.INVALID_REQUEST,
                    "namespace and serviceAccount must form a valid SPIFFE ID path: " + e.getMessage()));
        }
        String why = policy.check(identity);
        if (why != null) {
            throw adminDeny("token.create", principal, new EnrolmentException(EnrolmentError.NOT_A_VM_IDENTITY, why));
        }
        Duration life = ttl.orElse(config.tokenTtl());
        if (life.isNegative() || life.isZero() || life.compareTo(config.maxTokenTtl()) > 0) {
            throw adminDeny("token.create", principal, new EnrolmentException(EnrolmentError.INVALID_REQUEST,
                    "ttl " + life + " is outside (0, " + config.maxTokenTtl() + "] (isthmus.enrolment.max-token-ttl)"));
        }
        int uses = maxUses.orElse(config.tokenMaxUses());
        if (uses < 1 || uses > 1000) {
            throw adminDeny("token.create", principal, new EnrolmentException(EnrolmentError.INVALID_REQUEST,
                    "maxUses " + uses + " is outside [1, 1000]"));
        }
        JoinTokenSecrets.Minted m = JoinTokenSecrets.mint();
        Instant now = clock.instant();
        JoinToken token = new JoinToken(m.id(), identity, m.hash(), now, now.plus(life), uses, 0, false);
        stores.tokens().create(token);
        audit(new EnrolmentAudit.Entry("token.create", true, "created", null, principal, identity.toString(), m.id(),
                null, "ttl " + life + ", max uses " + uses));
        return new CreatedToken(token, m.text());
    }

    public List<JoinToken> listTokens() {
        return stores.tokens().list();
    }

    public JoinToken revokeToken(String principal, String id) {
        Optional<JoinToken> revoked = stores.tokens().revoke(id);
        if (revoked.isEmpty()) {
            throw adminDeny("token.revoke", principal, new EnrolmentException(EnrolmentError.NOT_FOUND,
                    "no join token with id " + id));
        }
        audit(new EnrolmentAudit.Entry("token.revoke", true, "revoked", null, principal,
                revoked.get().identity().toString(), id, null, null));
        return revoked.get();
    }

    public Revocation revokeIdentity(String principal, String spiffeId, String reason) {
        SpiffeId id;
        try {
            id = SpiffeId.parseWorkload(spiffeId);
        } catch (InvalidSpiffeIdException | NullPointerException e) {
            throw adminDeny("identity.revoke", principal, new EnrolmentException(EnrolmentError.INVALID_REQUEST,
                    "spiffeId: " + (e.getMessage() == null ? "is required" : e.getMessage())));
        }
        String why = policy.check(id);
        if (why != null) {
            throw adminDeny("identity.revoke", principal, new EnrolmentException(EnrolmentError.NOT_A_VM_IDENTITY, why));
        }
        VmIdentity revoked = stores.identities().revoke(id, reason, clock.instant());
        Optional<String> warning = stores.cutOff().since().map(since -> "recorded on this replica, which sees only the "
                + "replicas " + stores.cacheManager().getMembers() + " of its cluster since " + since + ": the others "
                + "learn of it when they see this one again, and until then may sign for the VM for up to "
                + "isthmus.enrolment.cut-off-grace (" + stores.cutOff().grace() + ") from when they lost it; revoke it "
                + "at a replica of the majority as well");
        audit(new EnrolmentAudit.Entry("identity.revoke", true, "revoked", null, principal, id.toString(), null, null,
                warning.map(w -> reason == null ? w : reason + "; " + w).orElse(reason)));
        return new Revocation(revoked, warning);
    }

    /**
     * A revocation as recorded, and what the administrator should know about it: made on a replica cut off from
     * the majority of its cluster's replicas, it reaches the others only when they meet again.
     */
    public record Revocation(VmIdentity identity, Optional<String> warning) {
    }

    public List<VmIdentity> listIdentities() {
        return stores.identities().list();
    }

    /** Records a refused admin call (authentication failures included) and returns the exception to throw. */
    public EnrolmentException adminDeny(String action, String principal, EnrolmentException e) {
        deny(action, e, null, principal, null, null);
        return e;
    }

    private void deny(String action, EnrolmentException e, String source, String principal, SpiffeId identity,
            String tokenId) {
        meters.counter("isthmus_enrolment_refusals", "action", action, "code", e.error().code()).increment();
        audit(new EnrolmentAudit.Entry(action, false, e.error().code(), source, principal,
                identity == null ? null : identity.toString(), tokenId, null, e.getMessage()));
    }

    private void audit(EnrolmentAudit.Entry entry) {
        audit.record(entry);
    }

    private static EnrolmentException unavailable(RuntimeException e) {
        return new EnrolmentException(EnrolmentError.STORE_UNAVAILABLE, "enrolment state is unavailable ("
                + e.getClass().getSimpleName() + ": " + e.getMessage() + "); retry later");
    }
}
