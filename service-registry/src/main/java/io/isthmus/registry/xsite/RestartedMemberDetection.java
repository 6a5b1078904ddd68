package io.isthmus.registry.xsite;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.protocols.relay.SiteAddress;
import org.jgroups.stack.Protocol;
import org.jgroups.util.MessageBatch;

/**
 * Lets a member that restarted at the same address replace its dead predecessor at once, instead of after failure
 * detection (20 s by default). A gateway killed with {@code kill -9} and started again binds the same host and port,
 * with a new JGroups identity; until the old identity is suspected, the view still holds it, RELAY2 routes the site's
 * traffic to it, and the other sites see no change of the site view, so they neither push it their state nor route
 * its replies: its updates sat unseen for the whole failure-detection timeout.
 *
 * <p>Sits right above the transport. When a message arrives from an address outside the current view (the restarted
 * member's discovery request, its join), it checks, a moment later (once discovery has cached the sender's physical
 * address), whether a view member sits at the same physical address (and, on the bridge, in the same site); if so,
 * it raises a suspicion of that older member. The suspicion goes up through {@code VERIFY_SUSPECT2}, which asks the
 * old identity whether it is alive: a live member (two site masters behind one load-balanced address during a split
 * of their local cluster) answers and stays; a dead one's address now belongs to a process that drops messages for
 * another identity, so the coordinator removes it after the verification timeout (1 s). The same check runs on every
 * view, for a restarted member that joined before anything else arrived from it.
 *
 * <p>Not a security decision: it only hastens what failure detection would do, and every connection is already
 * authenticated by TLS below it.
 */
final class RestartedMemberDetection extends Protocol {
    /** Lets discovery register the sender's physical address before it is looked up. */
    private static final long CHECK_DELAY_MILLIS = 100;
    private volatile View view;
    /** Senders outside the view already checked since the last view (a restarted member sends many messages). */
    private final Set<Address> checked = ConcurrentHashMap.newKeySet();
    private final AtomicLong replaced = new AtomicLong();

    /** Older members suspected because a new member appeared at their address. */
    long replaced() {
        return replaced.get();
    }

    @Override
    public Object down(Event evt) {
        if (evt.getType() == Event.VIEW_CHANGE) {
            View next = evt.getArg();
            view = next;
            checked.clear();
            getTransport().getTimer().execute(() -> suspectPredecessors(next.getMembers()));
        }
        return down_prot.down(evt);
    }

    @Override
    public Object up(Message msg) {
        noticeSender(msg.getSrc());
        return up_prot.up(msg);
    }

    @Override
    public void up(MessageBatch batch) {
        noticeSender(batch.sender());
        up_prot.up(batch);
    }

    private void noticeSender(Address sender) {
        View current = view;
        if (sender == null || current == null || current.containsMember(sender) || !checked.add(sender)) {
            return;
        }
        getTransport().getTimer().schedule(() -> {
            List<Address> withSender = new ArrayList<>(current.getMembers());
            withSender.add(sender);
            suspectPredecessors(withSender);
        }, CHECK_DELAY_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Suspects every member of {@code members} (oldest first) that shares its physical address, and its site on the
     * bridge, with a later one.
     */
    private void suspectPredecessors(List<Address> members) {
        List<Address> predecessors = predecessors(members, this::physicalAddress);
        View current = view;
        List<Address> suspects = predecessors.stream().filter(a -> current != null && current.containsMember(a))
                .toList();
        if (!suspects.isEmpty() && !suspects.contains(localAddress())) {
            replaced.addAndGet(suspects.size());
            log.info("%s: %s restarted at the same address; suspecting the old identity now rather than after failure"
                    + " detection", localAddress(), suspects);
            up_prot.up(new Event(Event.SUSPECT, suspects));
        }
    }

    /**
     * The members of {@code members} (in view order, oldest first) followed by a later member at the same physical
     * address and, for site addresses, of the same site: the dead predecessors of restarted members. A pure function
     * of the list and the address lookup.
     */
    static List<Address> predecessors(List<Address> members, java.util.function.Function<Address, Object> physical) {
        Map<Object, Address> latest = new java.util.HashMap<>();
        for (Address a : members) {
            Object at = physical.apply(a);
            if (at != null) {
                latest.put(List.of(at, site(a)), a);
            }
        }
        List<Address> out = new ArrayList<>();
        for (Address a : members) {
            Object at = physical.apply(a);
            if (at != null && !Objects.equals(latest.get(List.of(at, site(a))), a) && !out.contains(a)) {
                out.add(a);
            }
        }
        return out;
    }

    private static String site(Address a) {
        return a instanceof SiteAddress s ? s.getSite() : "";
    }

    private Object physicalAddress(Address a) {
        return down_prot.down(new Event(Event.GET_PHYSICAL_ADDRESS, a));
    }

    private Address localAddress() {
        return getTransport().getAddress();
    }
}
