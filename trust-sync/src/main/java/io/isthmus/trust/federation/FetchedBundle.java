package io.isthmus.trust.federation;

import java.util.Optional;

/**
 * Whether a peer's bundle, fetched and validated, may still be installed: only while the membership in force names
 * that peer with the endpoint it was fetched from. A poll can be in flight when the peer is removed (its bundle leaves
 * the store, so its SVIDs stop verifying) or its endpoint moves; a removed member controls how long its endpoint takes
 * to answer, and is told of its removal, so it can make its answer arrive just after. Pure; thread-safe.
 */
public final class FetchedBundle {
    private FetchedBundle() {
    }

    public enum Reason {
        /** The peer left the federation while its bundle was fetched. */
        REMOVED,
        /** The peer's endpoint (or another setting of it) changed while its bundle was fetched from the old one. */
        REPLACED
    }

    public sealed interface Verdict {
        record Install() implements Verdict {
        }

        /** Not installed; {@code detail} names the peer and what changed. */
        record Discard(Reason reason, String detail) implements Verdict {
        }
    }

    /**
     * @param fetchedFrom the peer as it was configured when the poll started
     * @param now the peer of that trust domain in force now, if any
     */
    public static Verdict decide(PeerConfig fetchedFrom, Optional<PeerConfig> now) {
        if (now.isEmpty()) {
            return new Verdict.Discard(Reason.REMOVED, "peer " + fetchedFrom.name() + " (" + fetchedFrom.trustDomain()
                    + ") left the federation while its bundle was being fetched from " + fetchedFrom.bundleEndpoint()
                    + "; the bundle is not installed and its SVIDs stay refused");
        }
        if (!now.get().equals(fetchedFrom)) {
            return new Verdict.Discard(Reason.REPLACED, "peer " + fetchedFrom.name() + " (" + fetchedFrom.trustDomain()
                    + ") changed while its bundle was being fetched from " + fetchedFrom.bundleEndpoint()
                    + "; it is now " + now.get().name() + " at " + now.get().bundleEndpoint()
                    + ", which is polled instead");
        }
        return new Verdict.Install();
    }
}
