package io.isthmus.registry.signing;

import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import io.isthmus.registry.EntryVersion;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.SvidSource;

/**
 * Signs with this gateway's current X.509-SVID and verifies with the live bundles ({@link EntryVerifier}). The owners
 * (cluster name → trust domain and gateway identities) change with the federation membership: {@link #owners(Map)}
 * replaces them as one snapshot. A signer's chain verdict is kept per trust snapshot ({@link SignerVerdicts}); the
 * signature of every record is checked every time. Thread-safe.
 */
public final class SvidEntryTrust implements EntryTrust {
    private final SvidSource svids;
    private final X509SvidVerifier verifier;
    private final Clock clock;
    private final AtomicReference<Map<String, OwnerTrust>> owners;
    private final SignerVerdicts signers;

    public SvidEntryTrust(SvidSource svids, X509SvidVerifier verifier, Clock clock, Map<String, OwnerTrust> owners) {
        this.svids = svids;
        this.verifier = verifier;
        this.clock = clock;
        this.owners = new AtomicReference<>(Map.copyOf(owners));
        this.signers = new SignerVerdicts(verifier::verifyEstablished, verifier::roots, verifier::bundleFor, clock);
    }

    /** Replaces the known owners (a membership change); records are judged against the new set from now on. */
    public void owners(Map<String, OwnerTrust> next) {
        owners.set(Map.copyOf(next));
    }

    /** Signer chains verified rather than reused so far. */
    public long signerChainsVerified() {
        return signers.computed();
    }

    public Map<String, OwnerTrust> owners() {
        return owners.get();
    }

    @Override
    public Optional<EntrySignature> sign(byte[] recordBytes) {
        X509Svid svid = svids.current();
        return Optional.of(new EntrySignature(svid.leaf(), EntrySignatures.sign(svid.key(), recordBytes)));
    }

    @Override
    public Optional<java.security.cert.X509Certificate> currentSigner() {
        return Optional.of(svids.current().leaf());
    }

    @Override
    public EntryVerdict verify(String cacheKey, SignedRecord entry, Optional<String> writerSite,
            Optional<EntryVersion> held) {
        return EntryVerifier.verify(cacheKey, entry, Optional.ofNullable(owners.get().get(entry.record().key().cluster())),
                writerSite, held, signers::verify, clock.instant(), verifier.skew());
    }
}
