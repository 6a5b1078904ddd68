package io.isthmus.registry.store;

import java.util.Objects;
import java.util.Optional;

import io.isthmus.registry.EntryVersion;
import io.isthmus.registry.signing.EntryRefusal;

/**
 * One record a site refused: the site that wrote it (as the cross-site version says; {@code unknown} when the cache
 * does not say), its key, its version (absent for a key that vanished, or a value that is no record) and why.
 */
public record RefusedRecord(String site, String cacheKey, Optional<EntryVersion> version, EntryRefusal reason) {
    public RefusedRecord {
        Objects.requireNonNull(site, "site");
        Objects.requireNonNull(cacheKey, "cacheKey");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(reason, "reason");
    }
}
