package io.isthmus.registry.xsite;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.View;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.MERGE3;

/**
 * MERGE3 that brings back, within seconds, members that a view dropped while they may still be up. Plain MERGE3
 * merges two views only once the coordinator has heard an INFO from the other side, sent on that side's own timer
 * (on the bridge, 5-15 s apart, and the check runs on its own timer too). Seen in IntermediateRotationE2ETest: east's
 * bridge lost west 3 s after both started and merged it back 24 s later; meanwhile nothing replicated from east to
 * west, and west's leases of east's exports lapsed (404 unknown-service).
 *
 * <p>When a new view lacks members of the previous one, this node (if it coordinates the new view) records each of
 * them as still holding the previous view, which is what a member wrongly excluded still holds, and runs the
 * consistency check at once, and again 2 s and 6 s later. The check asks those members for their actual views
 * (MERGE3's VIEW_REQ) and merges if a live one answers with a view other than ours. A member that really left or died
 * does not answer, and nothing happens.
 */
class HealingMerge extends MERGE3 {
    private static final long[] RETRIES_MILLIS = {500, 2_000, 6_000};

    HealingMerge() {
        // Headers are keyed by protocol id, and ids are registered per class: speak as MERGE3 does.
        setId(ClassConfigurator.getProtocolId(MERGE3.class));
    }

    @Override
    public Object down(Event evt) {
        if (evt.getType() == Event.VIEW_CHANGE) {
            View previous = view;
            Object ret = super.down(evt);
            View next = evt.getArg();
            if (previous != null && isCoord()) {
                List<Address> dropped = View.leftMembers(previous, next);
                if (!dropped.isEmpty()) {
                    for (long at : RETRIES_MILLIS) {
                        timer.schedule(() -> askDropped(next, previous, dropped), at, TimeUnit.MILLISECONDS, false);
                    }
                }
            }
            return ret;
        }
        return super.down(evt);
    }

    private void askDropped(View dropping, View previous, List<Address> dropped) {
        if (!isCoord() || view == null || !view.getViewId().equals(dropping.getViewId())) {
            // Another view came meanwhile (a merge already happened, or more changes): MERGE3 carries on from there.
            return;
        }
        for (Address member : dropped) {
            addInfo(member, previous.getViewId(), null, null);
        }
        checkInconsistencies();
    }
}
