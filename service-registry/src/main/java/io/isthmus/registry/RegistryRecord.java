package io.isthmus.registry;

import java.time.Instant;
import java.util.Objects;

/**
 * What the owner of a key says about it, as signed and replicated: the service is exported ({@link Live}), or it was
 * removed ({@link Tombstone}). A removal is a record like any other, so that it can be signed: a key simply vanishing
 * from a site's cache proves nothing about who removed it. A cluster's liveness is a record too ({@link SiteHeartbeat}):
 * one signed record per heartbeat renews the leases of all the cluster's entries, instead of re-signing each.
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

    /**
     * The owner {@code cluster} is alive at {@code signedAt}, and vouches for every entry of its own that it signed at or
     * after {@code coversSince}: their leases run from {@code signedAt}. The owner re-signs each of its live entries
     * well within the refresh window, and {@code coversSince} is the oldest signing instant among them, so an entry the
     * owner no longer holds (a removal a site missed) stops being covered once the owner's window moves past it, and its
     * lease then lapses as before. Stored under {@link #heartbeatKey(String)}, which no export can have.
     */
    record SiteHeartbeat(String cluster, Instant signedAt, Instant coversSince) implements RegistryRecord {
        public SiteHeartbeat {
            Objects.requireNonNull(cluster, "cluster");
            Objects.requireNonNull(signedAt, "signedAt");
            Objects.requireNonNull(coversSince, "coversSince");
            if (coversSince.isAfter(signedAt)) {
                throw new IllegalArgumentException("a heartbeat of cluster " + cluster + " signed at " + signedAt
                        + " cannot vouch for entries signed later (coversSince " + coversSince + ")");
            }
        }

        @Override
        public ServiceKey key() {
            return heartbeatKey(cluster);
        }

        /** Revision 1 always: heartbeats of a cluster are ordered by their signing instant alone. */
        @Override
        public EntryVersion version() {
            return new EntryVersion(1, signedAt);
        }
    }

    /**
     * A namespace no export can use: an underscore is not allowed in a Kubernetes namespace (a DNS label), and
     * {@link #requireExportable} refuses it for exports from any source.
     */
    String RESERVED_NAMESPACE = "_isthmus";

    static ServiceKey heartbeatKey(String cluster) {
        return new ServiceKey(cluster, RESERVED_NAMESPACE, "heartbeat");
    }

    static boolean reserved(ServiceKey key) {
        return RESERVED_NAMESPACE.equals(key.namespace());
    }

    /** @throws IllegalArgumentException when {@code key} is in the namespace the registry keeps for itself */
    static void requireExportable(ServiceKey key) {
        if (reserved(key)) {
            throw new IllegalArgumentException("cannot export " + key + ": namespace '" + RESERVED_NAMESPACE
                    + "' is the registry's own (its heartbeat records); export from a Kubernetes namespace");
        }
    }
}
