package io.isthmus.registry.signing;

import java.util.Optional;

import io.isthmus.registry.EntryVersion;
import io.isthmus.registry.signing.EntryVerdict.Accepted;
import io.isthmus.registry.signing.EntryVerdict.Refused;

/** See {@link EntryTrust#unsignedLocal()}. */
final class UnsignedLocalTrust implements EntryTrust {
    static final UnsignedLocalTrust INSTANCE = new UnsignedLocalTrust();

    private UnsignedLocalTrust() {
    }

    @Override
    public Optional<EntrySignature> sign(byte[] recordBytes) {
        return Optional.empty();
    }

    @Override
    public EntryVerdict verify(String cacheKey, SignedRecord entry, Optional<String> writerSite,
            Optional<EntryVersion> held) {
        if (!entry.record().key().toString().equals(cacheKey)) {
            return new Refused(EntryRefusal.KEY_MISMATCH, "the record under " + cacheKey + " describes "
                    + entry.record().key());
        }
        if (held.isPresent() && entry.record().version().olderThan(held.get())) {
            return new Refused(EntryRefusal.REPLAYED, "the record under " + cacheKey + " is "
                    + entry.record().version() + ", older than the " + held.get() + " held here");
        }
        return new Accepted(entry.record(), Optional.empty());
    }

    @Override
    public boolean signs() {
        return false;
    }
}
