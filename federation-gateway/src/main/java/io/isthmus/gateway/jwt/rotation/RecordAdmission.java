package io.isthmus.gateway.jwt.rotation;

import java.time.Duration;
import java.time.Instant;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;

/**
 * Whether a replica applies the rotation record it found on the replica channel. The channel is shared by whoever
 * joins it (a gateway of another cluster with a copied configuration, or an intruder on its network), so the record
 * carries its own proof: it must be signed by an X.509-SVID that verifies against this trust domain's bundle and
 * names exactly this cluster's gateway identity, at a time that SVID was valid. Only this cluster's own gateways hold
 * such a key. Pure; thread-safe.
 *
 * <p>A genuine record can be replayed by whoever can write the channel: once overwritten by a later step, an old one
 * written back would still be applied by a replica that applied less. A record is therefore applied only while its
 * signer's SVID is valid ({@link Reason#SIGNER_EXPIRED}); a record this replica applied already stays "applied"
 * whatever its age. A replica that was away for longer than that SVID's life catches up when the step is asked again
 * at any replica, which records it again signed with a current SVID.
 */
public final class RecordAdmission {
    private RecordAdmission() {
    }

    public enum Reason {
        MALFORMED("is not a readable signed rotation record"),
        SIGNER_NOT_VERIFIED("is signed by a certificate that does not verify against this cluster's trust"),
        FOREIGN_TRUST_DOMAIN("comes from another trust domain"),
        NOT_THE_GATEWAY("is signed by an identity of this trust domain that is not its gateway"),
        BAD_SIGNATURE("has a signature that does not match its content"),
        SIGNED_OUTSIDE_SVID_VALIDITY("claims a time at which its signer's SVID was not valid"),
        SIGNER_EXPIRED("is signed by an SVID that has expired, so it cannot be told from a replay of an old step");

        private final String rule;

        Reason(String rule) {
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }
    }

    public sealed interface Verdict {
        /** A step this replica has not applied yet: apply it. */
        record Apply(JwtRotationRecord record) implements Verdict {
        }

        /** Genuine, and applied already (or older than what this replica applied): nothing to do. */
        record Applied(JwtRotationRecord record) implements Verdict {
        }

        /** Not taken; {@code detail} quotes the input and says what to fix. */
        record Refused(Reason reason, String detail) implements Verdict {
            @Override
            public String toString() {
                return "the JWT rotation record on the replica channel " + reason.rule() + ": " + detail;
            }
        }
    }

    /**
     * @param own this replica's trust domain
     * @param gateway this cluster's gateway SPIFFE ID (every replica presents it)
     * @param signer the verdict on the record's {@code x5c} chain, by this replica's SVID verifier
     * @param signatureValid whether the record's signature verifies with the chain's leaf
     * @param record the signed payload, read
     * @param applied the last generation this replica applied
     * @param skew tolerated clock difference between replicas
     * @param now this replica's time
     */
    public static Verdict decide(TrustDomain own, SpiffeId gateway, SvidVerdict signer, boolean signatureValid,
            JwtRotationRecord record, long applied, Duration skew, Instant now) {
        if (!(signer instanceof SvidVerdict.Verified v)) {
            SvidVerdict.Rejected r = (SvidVerdict.Rejected) signer;
            return new Verdict.Refused(Reason.SIGNER_NOT_VERIFIED, r.reason().label() + ": " + r.message());
        }
        if (!v.id().trustDomain().equals(own)) {
            return new Verdict.Refused(Reason.FOREIGN_TRUST_DOMAIN, "signed by " + v.id() + ", expected " + gateway
                    + ": a gateway of another trust domain is on this cluster's replica channel; give each cluster "
                    + "its own isthmus.enrolment.cluster settings");
        }
        if (!v.id().equals(gateway)) {
            return new Verdict.Refused(Reason.NOT_THE_GATEWAY, "signed by " + v.id() + ", expected " + gateway);
        }
        if (!signatureValid) {
            return new Verdict.Refused(Reason.BAD_SIGNATURE, "generation " + record.generation() + " step "
                    + record.step().label() + " by " + v.id() + ": the content was changed after signing");
        }
        if (!record.trustDomain().equals(own)) {
            return new Verdict.Refused(Reason.FOREIGN_TRUST_DOMAIN, "names trust domain '" + record.trustDomain().name()
                    + "', expected '" + own.name() + "'");
        }
        if (record.requestedAt().isBefore(v.leaf().getNotBefore().toInstant().minus(skew))
                || record.requestedAt().isAfter(v.leaf().getNotAfter().toInstant().plus(skew))) {
            return new Verdict.Refused(Reason.SIGNED_OUTSIDE_SVID_VALIDITY, "requested at " + record.requestedAt()
                    + ", but the signing SVID is valid from " + v.leaf().getNotBefore().toInstant() + " to "
                    + v.leaf().getNotAfter().toInstant());
        }
        if (record.generation() <= applied) {
            return new Verdict.Applied(record);
        }
        Instant expired = v.leaf().getNotAfter().toInstant();
        if (now.isAfter(expired.plus(skew))) {
            return new Verdict.Refused(Reason.SIGNER_EXPIRED, "generation " + record.generation() + " step "
                    + record.step().label() + " requested at " + record.requestedAt() + " was signed by " + v.id()
                    + " with an SVID that expired at " + expired + "; this replica applied generation " + applied
                    + ". If that step is genuine and this replica was away, ask for " + record.step().label()
                    + " again at any replica: it is recorded again, signed with a current SVID");
        }
        return new Verdict.Apply(record);
    }
}
