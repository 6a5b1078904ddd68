package io.isthmus.registry.xsite;

import java.util.List;

import org.jgroups.Address;
import org.jgroups.protocols.relay.Route;
import org.jgroups.protocols.relay.SiteMasterPicker;

/**
 * Relays to a site through its newest site master on the bridge. A site has one site master, so a site with two
 * routes is nearly always one whose gateway restarted: the older route leads to the dead process until
 * {@link RestartedMemberDetection} has it removed (about a second), the newer one to the live process. JGroups' default
 * picks one at random and sticks to it per sender, so half of a sender's messages in that window, and every reply to
 * them, went to the dead one (seen in FastRejoinE2ETest: a restarted site's first backups timed out and its updates
 * then waited out the back-off). Routes are kept in bridge-view order, joiners last.
 */
final class NewestRoutePicker implements SiteMasterPicker {
    @Override
    public Address pickSiteMaster(List<Address> siteMasters, Address originalSender) {
        return siteMasters.get(0);
    }

    @Override
    public Route pickRoute(String site, List<Route> routes, Address originalSender) {
        return routes.get(routes.size() - 1);
    }
}
