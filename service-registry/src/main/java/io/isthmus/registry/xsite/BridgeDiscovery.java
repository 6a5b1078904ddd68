package io.isthmus.registry.xsite;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;

import org.jgroups.PhysicalAddress;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.TCPPING;
import org.jgroups.util.Util;

/**
 * The bridge's discovery: TCPPING over the peer sites' bridge addresses, given by the names they were configured
 * with, so that TCPPING resolves a name that did not resolve at start again at each round (a peer's load balancer
 * name published later), and whose hosts can be replaced while the bridge runs (a membership change), which TCPPING
 * alone cannot do for an empty list or for names.
 */
final class BridgeDiscovery extends TCPPING {
    BridgeDiscovery(List<InetSocketAddress> peers) {
        // JGroups tags each protocol's headers with the id registered for its class, and a subclass has none (0): its
        // discovery requests would be dropped as unknown. It speaks TCPPING's protocol, so it takes TCPPING's id.
        setId(ClassConfigurator.getProtocolId(TCPPING.class));
        setPortRange(0);
        setValue("initial_hosts_str", text(peers));
        breakOnCoordResponse(true);
    }

    private static String text(List<InetSocketAddress> peers) {
        return String.join(",", peers.stream().map(a -> a.getHostString() + "[" + a.getPort() + "]").toList());
    }

    /**
     * From the next discovery round on, asks {@code peers} (resolved now where they resolve, the rest at each round);
     * forgets the addresses learned from members that are gone.
     */
    synchronized void replaceHosts(List<InetSocketAddress> peers) {
        String hosts = text(peers);
        Collection<PhysicalAddress> resolved = new ArrayList<>();
        Collection<String> unresolved = new HashSet<>();
        if (!hosts.isEmpty()) {
            try {
                Util.parseCommaDelimitedHostsInto(resolved, unresolved, hosts, default_port, port_range, stack_type);
            } catch (Exception e) {
                log.warn("bridge discovery: cannot parse the peer bridges %s: %s", hosts, e);
                return;
            }
        }
        initial_hosts_str = hosts;
        initial_hosts = resolved;
        unresolved_hosts = unresolved;
        if (dynamic_hosts != null) {
            dynamic_hosts.clear();
        }
    }
}
