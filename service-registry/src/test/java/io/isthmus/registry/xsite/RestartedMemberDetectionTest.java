package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.jgroups.Address;
import org.jgroups.protocols.relay.SiteUUID;
import org.jgroups.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Which members a restarted one replaces: an older member at the same physical address (and, on the bridge, of the
 * same site). Members at other addresses, and a site's two masters at one load-balanced address but of different
 * sites, are never suspected.
 */
class RestartedMemberDetectionTest {
    private static Address bridgeMember(String site) {
        return new SiteUUID(UUID.randomUUID(), "_" + site, site);
    }

    @Test
    void anOlderMemberAtTheSameAddressIsTheDeadPredecessor() {
        Address alpha = bridgeMember("alpha");
        Address oldBeta = bridgeMember("beta");
        Address gamma = bridgeMember("gamma");
        Address newBeta = bridgeMember("beta");
        Map<Address, Object> at = Map.of(alpha, "10.0.0.1:7900", oldBeta, "10.0.0.2:7900", gamma, "10.0.0.3:7900",
                newBeta, "10.0.0.2:7900");
        assertThat(RestartedMemberDetection.predecessors(List.of(alpha, oldBeta, gamma, newBeta), at::get))
                .containsExactly(oldBeta);
    }

    @Test
    void everyOlderIdentityAtTheAddressIsReplacedByTheLatest() {
        Address first = UUID.randomUUID();
        Address second = UUID.randomUUID();
        Address third = UUID.randomUUID();
        Map<Address, Object> at = Map.of(first, "10.0.0.2:7800", second, "10.0.0.2:7800", third, "10.0.0.2:7800");
        assertThat(RestartedMemberDetection.predecessors(List.of(first, second, third), at::get))
                .containsExactly(first, second);
    }

    @Test
    void membersAtOtherAddressesOrOfOtherSitesAreNotSuspected() {
        Address alpha = bridgeMember("alpha");
        Address beta = bridgeMember("beta");
        Address replica = UUID.randomUUID();
        // Two sites behind one address (a shared load balancer on different ports would differ; this is the worst case).
        Map<Address, Object> at = Map.of(alpha, "10.0.0.9:7900", beta, "10.0.0.9:7900", replica, "10.0.0.3:7800");
        assertThat(RestartedMemberDetection.predecessors(List.of(alpha, beta, replica), at::get)).isEmpty();
    }

    @Test
    void aMemberWhoseAddressIsNotKnownYetIsLeftAlone() {
        Address old = UUID.randomUUID();
        Address restarted = UUID.randomUUID();
        Map<Address, Object> at = Map.of(restarted, "10.0.0.2:7800");
        assertThat(RestartedMemberDetection.predecessors(List.of(old, restarted), at::get)).isEmpty();
    }
}
