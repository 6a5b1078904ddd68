package io.isthmus.registry.xsite;

import java.util.concurrent.locks.ReentrantLock;

import org.jgroups.View;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.util.Digest;

/**
 * GMS that passes each view down and up the stack before it installs the next one. JGroups 5.5.1's
 * {@code GMS.installView} sets the view under its lock but passes it down (transport, failure detector) and up
 * (UFC/MFC, RELAY2, Infinispan) after releasing it, so two views installed on two threads can reach the rest of the
 * stack in the wrong order (JGRP-3036; fixed on JGroups' 5.5.x branch after 5.5.6, in no release when this was
 * written: drop this class once Infinispan brings a JGroups with the fix).
 *
 * <p>That happens to a replica that creates the cluster while the other joins: its connecting thread installs the
 * first view, of itself alone, and before that view has passed down, the view handler admits the other replica and
 * passes the next view down and up first. The first view then arrives last: FD_ALL3 watches nobody (with one member
 * it stops its timeout checker), Infinispan rejects it (ISPN000711), and the channel reports it. After a cut that
 * replica never suspects the other: it keeps the other in its membership and its majority, so its join-token cache
 * never degrades and the VMs' cut-off grace never starts (RacingViewsTest; seen in ReplicaCutOffE2ETest with the
 * replicas started together). MERGE3's next round repairs the view only if the other replica is still reachable.
 *
 * <p>Holds a lock of its own for the whole installation, so a later view waits until the earlier one has been passed
 * on; the check in {@code installView} then discards any view older than the installed one, as before. The lock is
 * re-entrant (passing a view on may install another on the same thread) and only view installations take it.
 */
class OrderedViewGms extends GMS {
    private final ReentrantLock installing = new ReentrantLock();

    @Override
    public void installView(View newView, Digest digest) {
        installing.lock();
        try {
            super.installView(newView, digest);
        } finally {
            installing.unlock();
        }
    }
}
