package io.isthmus.registry.xsite;

import java.util.concurrent.locks.ReentrantLock;

import org.jgroups.View;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.util.Digest;

/**
 * GMS that passes each view down and up the stack before it installs the next one. JGroups 5.5.1's
 * {@code GMS.installView} sets the view under its lock but passes it down (transport, failure detector) and up
 * (RELAY2, Infinispan) after releasing it, so two views installed on two threads can reach the rest of the stack in
 * the wrong order (JGRP-3036, fixed upstream after 5.5.6). That happens to a replica that creates the cluster while
 * the other joins: its connecting thread installs the first view, of itself alone, and before that view has passed
 * down, the view handler admits the other replica and passes the next view down and up first. The first view then
 * arrives last: FD_ALL3 watches nobody and stops its timeout checker, Infinispan rejects it (ISPN000711), and the
 * channel reports it. That replica then never suspects the other: after a cut it keeps the other in its membership,
 * stays in the majority, and goes on renewing VMs revoked on the other side (RacingViewsTest; seen in
 * ReplicaCutOffE2ETest with the replicas started together). MERGE3's next round repairs it only if the other
 * replica is still reachable then.
 *
 * <p>Holds a lock of its own for the whole installation, so a later view waits until the earlier one has been passed
 * on; the check in {@code installView} then discards any view older than the installed one, as before. The lock is
 * re-entrant (a view handler may install a view while passing one on) and only views take it.
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
