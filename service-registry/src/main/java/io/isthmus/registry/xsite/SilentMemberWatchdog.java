package io.isthmus.registry.xsite;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.stack.Protocol;
import org.jgroups.util.MessageBatch;

/**
 * Suspects a member of this replica's view that has sent nothing for longer than the failure detector should ever
 * take, whatever the failure detector thinks. The loss of a replica must end this replica's majority: the join-token
 * cache's degraded mode and the VMs' cut-off grace ({@code ReplicaCutOff} in the gateway) start from it, and a replica
 * that keeps a dead member in its view keeps renewing a VM revoked on the other side for as long as the partition
 * lasts. FD_ALL3 watches the members of the last view that passed it, so a view that reached it out of order
 * (JGRP-3036, seen twice in ReplicaCutOffE2ETest before {@link OrderedViewGms}) or any other fault of its own left it
 * watching nobody, and a cut then went unnoticed by this replica for good. A second line of defence behind
 * OrderedViewGms, as JGroups' own fix of JGRP-3036 adds one in its flow control.
 *
 * <p>Sits right above the transport and notes when each sender was last heard from (any message: the members'
 * heartbeats come every failure-detection interval). Every interval it takes the membership from GMS itself, not from
 * a view event, and raises a suspicion of the members silent for longer than {@code silence}. The suspicion goes up
 * through {@code VERIFY_SUSPECT2}, which asks the member whether it is alive: one that answers stays. A member
 * suspected so is suspected again only after another {@code silence}.
 *
 * <p>Not a security decision on its own: it only makes sure that what failure detection should have done is done.
 */
final class SilentMemberWatchdog extends Protocol {
    private final long silenceNanos;
    private final long intervalMillis;
    /** When each sender was last heard from ({@link System#nanoTime()}); members never heard: when first checked. */
    private final Map<Address, Long> lastHeard = new ConcurrentHashMap<>();
    private final AtomicLong suspected = new AtomicLong();
    private volatile GMS gms;
    private Future<?> checks;

    /**
     * @param silenceMillis how long a view member may send nothing before it is suspected: longer than the failure
     *                      detector's timeout and verification together
     * @param intervalMillis how often the members are checked
     */
    SilentMemberWatchdog(long silenceMillis, long intervalMillis) {
        if (silenceMillis <= 0 || intervalMillis <= 0) {
            throw new IllegalArgumentException("silence and interval must be positive, got " + silenceMillis + " ms and "
                    + intervalMillis + " ms");
        }
        this.silenceNanos = TimeUnit.MILLISECONDS.toNanos(silenceMillis);
        this.intervalMillis = intervalMillis;
    }

    /** Members suspected because they were silent, since start. */
    long suspected() {
        return suspected.get();
    }

    @Override
    public void start() throws Exception {
        super.start();
        gms = getProtocolStack().findProtocol(GMS.class);
        checks = getTransport().getTimer().scheduleWithFixedDelay(this::check, intervalMillis, intervalMillis,
                TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        Future<?> f = checks;
        if (f != null) {
            f.cancel(false);
        }
        lastHeard.clear();
        super.stop();
    }

    @Override
    public Object up(Message msg) {
        heard(msg.getSrc());
        return up_prot.up(msg);
    }

    @Override
    public void up(MessageBatch batch) {
        heard(batch.sender());
        up_prot.up(batch);
    }

    private void heard(Address sender) {
        if (sender != null) {
            lastHeard.put(sender, System.nanoTime());
        }
    }

    private void check() {
        GMS g = gms;
        View view = g == null ? null : g.view();
        Address self = getTransport().getAddress();
        if (view == null || self == null) {
            return;
        }
        long now = System.nanoTime();
        lastHeard.keySet().retainAll(view.getMembers());
        for (Address member : view.getMembers()) {
            lastHeard.putIfAbsent(member, now);
        }
        List<Address> silent = silent(view.getMembers(), self, lastHeard, now, silenceNanos);
        if (silent.isEmpty()) {
            return;
        }
        for (Address member : silent) {
            // Suspected again only after another silence, if it is still in the view and still silent.
            lastHeard.put(member, now);
        }
        suspected.addAndGet(silent.size());
        log.warn("%s: %s sent nothing for over %d ms but %s still in this replica's view %s: suspecting %s now (a "
                + "partition, or a replica that hung; the failure detector did not). If %s is up, check the network "
                + "between the replicas", self, silent, TimeUnit.NANOSECONDS.toMillis(silenceNanos),
                silent.size() == 1 ? "is" : "are", view.getViewId(), silent.size() == 1 ? "it" : "them", silent);
        up_prot.up(new Event(Event.SUSPECT, silent));
    }

    /**
     * The members of {@code members}, other than {@code self}, last heard from more than {@code silenceNanos} before
     * {@code now}; a member missing from {@code lastHeard} is not silent (it has not been watched yet). Pure.
     */
    static List<Address> silent(List<Address> members, Address self, Map<Address, Long> lastHeard, long now,
            long silenceNanos) {
        List<Address> out = new ArrayList<>();
        for (Address member : members) {
            Long heard = lastHeard.get(member);
            if (!member.equals(self) && heard != null && now - heard > silenceNanos) {
                out.add(member);
            }
        }
        return out;
    }
}
