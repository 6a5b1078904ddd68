package io.isthmus.registry.xsite;

import org.infinispan.container.versioning.irac.IracEntryVersion;
import org.infinispan.container.versioning.irac.TopologyIracVersion;
import org.infinispan.metadata.impl.IracMetadata;
import org.infinispan.util.ByteString;

/**
 * Which cross-site write of the registry cache a site takes from a peer: one of the peer's own keys, or one of this
 * site's own keys sent back, each with only its owner's part of the cross-site version. Infinispan orders a key's cross-site updates by the version
 * vector the sender claims (and resolves concurrent ones by site name), never checking it against the site that sent
 * it; and it keeps a refused record's version, so the registry refusing the record itself is too late. A compromised
 * peer gateway (cluster-a, admitted by the bridge) that sent cluster-c a record of cluster-b's key with a version
 * above every version cluster-b will write, or a concurrent one naming a lower site, got all of cluster-b's later
 * updates of that key discarded at cluster-c, whose lease there then lapsed (IracVersionForgeryTest). A peer's own keys carry its versions only: versions of other sites in the vector
 * are dropped, so that no peer can raise the counter this site, or any other, keeps for its own keys.
 *
 * <p>Pure. The owner of a registry key is its first segment ({@code cluster/namespace/name}, as
 * {@code EntryCodec.key} writes it), and a site's name is its cluster's name.
 */
final class OwnerWrites {
    private OwnerWrites() {
    }

    /** What to do with a peer's cross-site write. */
    sealed interface Verdict {
    }

    /** Apply the write, ordered by {@code version} (the sender's own part of the version it sent). */
    record Admit(IracMetadata version) implements Verdict {
    }

    /** Drop it; {@code message} names the key, the sending site and the rule. */
    record Refuse(Reason reason, String message) implements Verdict {
    }

    /** Why a write was refused. */
    enum Reason {
        /** The key is not {@code cluster/namespace/name}. */
        NOT_A_REGISTRY_KEY,
        /**
         * A third cluster's key. Also what a genuine site sends when this site joins (Infinispan's state transfer
         * pushes every key the sender holds): the key's owner sends it too.
         */
        ANOTHER_SITES_KEY,
        /** The sender's own key without a cross-site version. */
        NO_VERSION,
        /** The sender's own key with a version that names another site as its writer. */
        WRITTEN_BY_ANOTHER_SITE,
        /** The sender's own key with a version that has no count of the sender's own writes. */
        NO_OWN_COUNT,
        /** This site's own key sent back with a count so high that counting on from it would overflow. */
        IMPLAUSIBLE_COUNT
    }

    /** Above these, a count is no site's real history but a forgery that would make this site's next count wrap. */
    static final int MAX_PLAUSIBLE_TOPOLOGY = Integer.MAX_VALUE / 2;
    static final long MAX_PLAUSIBLE_COUNTER = Long.MAX_VALUE / 2;

    /** The cluster that owns a registry cache key, or null when {@code key} is not a registry key. */
    static String owner(Object key) {
        if (!(key instanceof String text)) {
            return null;
        }
        int slash = text.indexOf('/');
        return slash > 0 ? text.substring(0, slash) : null;
    }

    /**
     * Judges a write or removal of {@code key} that site {@code origin} sent (as the bridge authenticated it) to this
     * site, {@code local}, with the cross-site {@code version} it claimed. The sender's own keys are taken with its own
     * part of the version. This site's own keys come back from a peer when this site joins (Infinispan's state
     * transfer pushes every key a site holds): they are taken with this site's part of the version, since a site that
     * restarted empty learns from them where its own count of writes stood (Infinispan counts on from the versions it
     * receives; without them its next update of such a key would be older than what the peers hold, and discarded),
     * unless that count is implausible. Other sites' keys are refused: their owners send them.
     */
    static Verdict judge(String origin, String local, Object key, IracMetadata version) {
        String owner = owner(key);
        if (owner == null) {
            return new Refuse(Reason.NOT_A_REGISTRY_KEY, "key " + key + " is not a registry key"
                    + " (cluster/namespace/name), sent by site '" + origin + "'");
        }
        boolean returning = owner.equals(local) && !owner.equals(origin);
        if (!owner.equals(origin) && !returning) {
            return new Refuse(Reason.ANOTHER_SITES_KEY, "key " + key + " belongs to cluster '" + owner
                    + "' but site '" + origin + "' sent it; only site '" + owner + "' writes the keys of cluster '"
                    + owner + "'");
        }
        if (version == null || version.getVersion() == null) {
            return new Refuse(Reason.NO_VERSION, "key " + key + " came from site '" + origin
                    + "' without a cross-site version");
        }
        if (!returning && !origin.equals(version.getSite())) {
            return new Refuse(Reason.WRITTEN_BY_ANOTHER_SITE, "key " + key + " came from site '" + origin
                    + "' with a version written by site '" + version.getSite() + "'");
        }
        ByteString site = ByteString.fromString(owner);
        TopologyIracVersion own = version.getVersion().getVersion(site);
        if (own == null || own.compareTo(TopologyIracVersion.NO_VERSION) <= 0) {
            return new Refuse(Reason.NO_OWN_COUNT, "key " + key + " came from site '" + origin + "' with a version "
                    + version.getVersion() + " that does not count the writes of its owner, site '" + owner + "'");
        }
        if (returning && (own.getTopologyId() > MAX_PLAUSIBLE_TOPOLOGY || own.getVersion() > MAX_PLAUSIBLE_COUNTER)) {
            return new Refuse(Reason.IMPLAUSIBLE_COUNT, "key " + key + " came back from site '" + origin
                    + "' with this site's count at " + own + ", beyond any real history");
        }
        return new Admit(new IracMetadata(site, IracEntryVersion.newVersion(site, own)));
    }
}
