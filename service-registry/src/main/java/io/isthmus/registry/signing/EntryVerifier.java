package io.isthmus.registry.signing;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

import io.isthmus.registry.EntryVersion;
import io.isthmus.registry.RegistryRecord;
import io.isthmus.registry.signing.EntryVerdict.Accepted;
import io.isthmus.registry.signing.EntryVerdict.Refused;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.x509.Certificates;

/**
 * Whether a site uses a registry record it received, whoever handed it over. A record is used only when all of this
 * holds: it describes the key it is stored under; that key's cluster is known here; the cross-site version (when there
 * is one) names that cluster's site as the writer; it is signed; the signer's certificate is an SVID that the owner's
 * current bundle vouches for (signer CA in the bundle, name constraint, federation root); that SVID is of the owner's
 * trust domain and one of its gateways; the signature matches the bytes; it was signed while that SVID was valid and
 * not in the future; and it is not older than the version of the key already held (a replay).
 *
 * <p>The signer's own expiry is deliberately not checked against now (only against the signing instant): the owner
 * re-signs every entry at each heartbeat, but an entry whose owner is down must stay readable (and stale) after the
 * SVID that signed it expired. What ends its validity is its CA leaving the owner's bundle.
 *
 * <p>Pure: no I/O, no clock, thread-safe. {@code chain} is the SVID verifier's check of an established peer
 * ({@code X509SvidVerifier::verifyEstablished}), which reads the bundles in force.
 */
public final class EntryVerifier {
    private EntryVerifier() {
    }

    public static EntryVerdict verify(String cacheKey, SignedRecord entry, Optional<OwnerTrust> owner,
            Optional<String> writerSite, Optional<EntryVersion> held,
            Function<List<X509Certificate>, SvidVerdict> chain, Instant now, Duration skew) {
        RegistryRecord record = entry.record();
        String what = switch (record) {
            case RegistryRecord.Tombstone t -> "the removal of " + cacheKey;
            case RegistryRecord.SiteHeartbeat h -> "the heartbeat of cluster '" + h.cluster() + "' (" + cacheKey + ")";
            case RegistryRecord.Live l -> "the entry " + cacheKey;
        };
        if (!record.key().toString().equals(cacheKey)) {
            return new Refused(EntryRefusal.KEY_MISMATCH, what + " describes " + record.key()
                    + "; a record must describe the key it is stored under");
        }
        String cluster = record.key().cluster();
        if (owner.isEmpty()) {
            return new Refused(EntryRefusal.UNKNOWN_OWNER, what + " belongs to cluster '" + cluster + "', which is not a"
                    + " member known here (isthmus.registry.peers or the federation membership)");
        }
        if (writerSite.isPresent() && !writerSite.get().equals(cluster)) {
            return new Refused(EntryRefusal.WRITTEN_BY_OTHER_SITE, what + " was written by site '" + writerSite.get()
                    + "'; only site '" + cluster + "' writes the keys of cluster '" + cluster + "'");
        }
        if (entry.signature().isEmpty()) {
            return new Refused(EntryRefusal.UNSIGNED, what + " is not signed; every gateway signs its entries since"
                    + " version 0.2: upgrade the gateway of cluster '" + cluster + "'");
        }
        EntrySignature signature = entry.signature().get();
        X509Certificate leaf = signature.signer();
        SvidVerdict verdict = chain.apply(List.of(leaf));
        if (!(verdict instanceof SvidVerdict.Verified verified)) {
            return new Refused(EntryRefusal.SIGNER_NOT_TRUSTED, what + " is signed by a certificate that the bundle of "
                    + owner.get().trustDomain() + " does not vouch for: " + ((SvidVerdict.Rejected) verdict).message());
        }
        SpiffeId signer = verified.id();
        if (!signer.memberOf(owner.get().trustDomain())) {
            return new Refused(EntryRefusal.FOREIGN_SIGNER, what + " is signed by " + signer + ", but cluster '" + cluster
                    + "' is trust domain " + owner.get().trustDomain() + ": only its own gateways sign its entries");
        }
        if (!owner.get().gateways().contains(signer)) {
            return new Refused(EntryRefusal.NOT_A_GATEWAY, what + " is signed by " + signer + ", which is not a gateway of"
                    + " cluster '" + cluster + "' (gateways: " + owner.get().gateways() + ")");
        }
        if (!EntrySignatures.verifies(leaf.getPublicKey(), entry.signedBytes(), signature.value())) {
            return new Refused(EntryRefusal.BAD_SIGNATURE, what + ": the signature of " + signer
                    + " does not match the record; it was changed after signing");
        }
        Instant signedAt = record.version().signedAt();
        if (signedAt.isBefore(leaf.getNotBefore().toInstant().minus(skew))
                || signedAt.isAfter(leaf.getNotAfter().toInstant().plus(skew))) {
            return new Refused(EntryRefusal.SIGNED_OUTSIDE_VALIDITY, what + " says it was signed at " + signedAt
                    + ", outside the validity of its signer " + Certificates.describe(leaf) + " ("
                    + leaf.getNotBefore().toInstant() + " to " + leaf.getNotAfter().toInstant() + ")");
        }
        if (signedAt.isAfter(now.plus(skew))) {
            return new Refused(EntryRefusal.FROM_THE_FUTURE, what + " says it was signed at " + signedAt + ", later than"
                    + " now (" + now + ") by more than the allowed skew " + skew + "; check the clocks of '" + cluster + "'");
        }
        if (held.isPresent() && record.version().olderThan(held.get())) {
            return new Refused(EntryRefusal.REPLAYED, what + " is " + record.version() + ", older than the "
                    + held.get() + " held here: a replay of an earlier record");
        }
        return new Accepted(record, Optional.of(signer));
    }
}
