package io.isthmus.registry.xsite;

import java.util.concurrent.atomic.AtomicLong;

import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.protocols.relay.RELAY2;
import org.jgroups.stack.Protocol;

/**
 * Ends a routing loop that JGroups' RELAY2 (5.5.1) enters while a site master leaves. Leaving, RELAY2 stops being
 * site master first ({@code is_site_master=false}) but keeps itself in its list of site masters until the next view;
 * a message for this site's site master that arrives in between (another site's cross-site backup, say) is then
 * forwarded to "the site master", which is this node, comes back up through the transport's loopback, is forwarded
 * again, and so on without end. A fresh-clone test run hung on it for 15 minutes: both virtual-thread carriers spun in
 * the loop, so the thread that closes the bridge, waiting on a virtual thread that never ran, never returned.
 *
 * <p>Sits right under RELAY2 on the local channel. Once the channel is leaving (the {@code DISCONNECT} event, which
 * comes before any protocol stops), a relayed message this node addresses to itself is dropped: the node is going, and
 * the other site's backup is retried at the site's next site master.
 */
final class RelayLoopGuard extends Protocol {
    private volatile boolean leaving;
    private final AtomicLong dropped = new AtomicLong();

    /**
     * Whether a message going down is the loop: a relayed message (RELAY2's header) addressed to this node while the
     * channel is leaving. Before leaving, RELAY2 addresses itself only to deliver to itself, which reaches the top.
     */
    static boolean loops(boolean leaving, boolean relayed, Address dest, Address self) {
        return leaving && relayed && dest != null && dest.equals(self);
    }

    /** Relayed messages dropped because they would have looped. */
    long dropped() {
        return dropped.get();
    }

    @Override
    public void start() throws Exception {
        super.start();
        leaving = false;
    }

    @Override
    public Object down(Event evt) {
        if (evt.getType() == Event.DISCONNECT) {
            leaving = true;
        }
        return down_prot.down(evt);
    }

    @Override
    public Object down(Message msg) {
        RELAY2 relay = up_prot instanceof RELAY2 r ? r : null;
        boolean relayed = relay != null && msg.getHeader(relay.getId()) != null;
        if (loops(leaving, relayed, msg.getDest(), local_addr)) {
            if (dropped.getAndIncrement() == 0) {
                log.debug("%s: leaving; dropped a relayed message addressed to this node (RELAY2 would loop it)",
                        local_addr);
            }
            return null;
        }
        return down_prot.down(msg);
    }
}
