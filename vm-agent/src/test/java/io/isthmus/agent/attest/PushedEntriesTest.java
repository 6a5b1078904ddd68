package io.isthmus.agent.attest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Entries the gateway sent are checked again by the agent: one outside the VM's path (another VM's, another trust
 * domain's) is refused and reported, the others stand; and the file's and the gateway's entries are united.
 */
class PushedEntriesTest {
    private static final SpiffeId VM = SpiffeId.parse("spiffe://east.example/ns/shop/sa/db-1");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aPushedEntryOutsideTheVmsPathIsRefusedAndTheOthersStand() throws Exception {
        PushedEntries p = PushedEntries.check(VM, JSON.readTree("""
                [{"spiffeId": "%1$s/billing", "selectors": ["unix:uid:1000"]},
                 {"spiffeId": "spiffe://east.example/ns/shop/sa/db-2/steal", "selectors": ["unix:uid:0"]},
                 {"spiffeId": "spiffe://west.example/ns/shop/sa/db-1/x", "selectors": ["unix:uid:0"]},
                 {"spiffeId": "%1$s/x", "selectors": ["unix:uid:nope"]},
                 {"spiffeId": "%1$s/any", "selectors": []}]""".formatted(VM)));
        assertThat(p.accepted()).extracting(RegistrationEntry::spiffeId).containsExactly(SpiffeId.parse(VM + "/billing"));
        assertThat(p.refused()).hasSize(4);
        assertThat(p.refused().get(0)).startsWith("entry 1 (not-under-vm)").contains("db-2/steal");
        assertThat(p.refused().get(1)).startsWith("entry 2 (other-trust-domain)");
        assertThat(p.refused().get(2)).startsWith("entry 3 (bad-selector)");
        assertThat(p.refused().get(3)).startsWith("entry 4 (no-selectors)");
        assertThat(PushedEntries.check(VM, JSON.readTree("{}")).refused()).singleElement().asString()
                .contains("not a JSON array");
    }

    @Test
    void theFilesAndTheGatewaysEntriesAreUnitedAndNeitherOverrides() {
        RegistrationEntry fileBilling = entry("/billing", "unix:uid:1000");
        RegistrationEntry gatewayBilling = entry("/billing", "unix:user:billing");
        RegistrationEntry both = entry("/backup", "unix:uid:0");
        assertThat(PushedEntries.union(List.of(fileBilling, both), List.of(gatewayBilling, both)))
                .containsExactly(fileBilling, both, gatewayBilling);
    }

    private static RegistrationEntry entry(String suffix, String selector) {
        return new RegistrationEntry(SpiffeId.parse(VM + suffix), new TreeSet<>(List.of(Selector.parse(selector))));
    }
}
