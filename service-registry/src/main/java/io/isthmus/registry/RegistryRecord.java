package io.isthmus.registry;

import java.time.Instant;
import java.util.Objects;

/**
 * What the owner of a key says about it, as signed and replicated: the service is exported ({@link Live}), or it was
 * removed ({@link Tombstone}). A removal is a record like any other, so that it can be signed: a key simply vanishing
 * from a site's cache proves nothing about who removed it.
 */
public sealed interface RegistryRecord {
    ServiceKey key();

    EntryVersion version();

    /** An export, signed at {@code signedAt}. */
    record Live(ExportedService entry, Instant signedAt) implements RegistryRecord {
        public Live {
            Objects.requireNonNull(entry, "entry");
            Objects.requireNonNull(signedAt, "signedAt");
        }

        @Override
        public ServiceKey key() {
            return entry.key();
        }

        @Override
        public EntryVersion version() {
            return new EntryVersion(entry.revision(), signedAt);
        }
    }

    /** The owner removed {@code key}; {@code revision} is one above the last export's. */
    record Tombstone(ServiceKey key, long revision, Instant signedAt) implements RegistryRecord {
        public Tombstone {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(signedAt, "signedAt");
        }

        @Override
        public EntryVersion version() {
            return new EntryVersion(revision, signedAt);
        }
    }
}
