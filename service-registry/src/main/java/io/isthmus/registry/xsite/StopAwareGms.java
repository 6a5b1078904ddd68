package io.isthmus.registry.xsite;

import java.util.function.BooleanSupplier;

import org.jgroups.Event;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.pbcast.ClientGmsImpl;
import org.jgroups.protocols.pbcast.GMS;

/**
 * GMS whose join gives up once the node closes. A channel joins while holding its own lock, and JGroups' join loop
 * stops only when it joined, when nobody answered discovery, or after {@code max_join_attempts} (10) rounds of asking
 * a coordinator that answered discovery and waiting a join timeout for its admission. Closing the channel waits for
 * that lock. On the bridge, which RELAY2 joins on a thread of its own while the node runs, that made a gateway whose
 * peer answered but did not admit it (a peer still starting, or one that cannot complete the handshake back) take 20-40
 * s to stop: its shutdown waited in the cache manager's stop, which closes the bridge (BridgeJoinAtStopTest).
 *
 * <p>The join loop asks {@link #isLeaving()} before each round; while this member has not joined, that is now true once
 * the node closed, so the stop waits at most for the round in progress (one join timeout). Once joined, GMS keeps its
 * own meaning of leaving. A channel that gave up so leaves nothing: it never was a member.
 */
final class StopAwareGms extends OrderedViewGms {
    private final BooleanSupplier nodeClosed;

    StopAwareGms(BooleanSupplier nodeClosed) {
        // Headers are keyed by protocol id, and ids are registered per class: speak as GMS does.
        setId(ClassConfigurator.getProtocolId(GMS.class));
        this.nodeClosed = nodeClosed;
    }

    private boolean joining() {
        return getImpl() instanceof ClientGmsImpl;
    }

    @Override
    public boolean isLeaving() {
        return super.isLeaving() || (joining() && nodeClosed.getAsBoolean());
    }

    @Override
    public Object down(Event evt) {
        if (evt.getType() == Event.DISCONNECT && joining()) {
            // Never a member, so there is no one to tell; ClientGmsImpl.leave() would only warn that it was called.
            return down_prot.down(evt);
        }
        return super.down(evt);
    }
}
