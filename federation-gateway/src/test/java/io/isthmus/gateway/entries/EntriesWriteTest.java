package io.isthmus.gateway.entries;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.enrolment.VmIdentityPolicy;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.RegistrationEntryRule;
import io.isthmus.trust.spiffe.TrustDomain;

/** What the admin API stores for an agent: the agent must be a VM here, and every entry under its path, or nothing. */
class EntriesWriteTest {
    private static final VmIdentityPolicy POLICY = new VmIdentityPolicy(new TrustDomain("east.example"),
            "isthmus-system", Optional.empty());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String A = "spiffe://east.example/ns/shop/sa/db-1";

    @Test
    void acceptsTheAgentsEntriesAndAnEmptyList() throws Exception {
        var verdict = EntriesWrite.check(POLICY, JSON.readTree("""
                {"agent": "%1$s", "entries": [
                  {"spiffeId": "%1$s/billing", "selectors": ["unix:user:billing"]},
                  {"spiffeId": "%1$s", "selectors": ["unix:uid:0"]}]}""".formatted(A)));
        assertThat(verdict).isInstanceOfSatisfying(EntriesWrite.Accepted.class, a -> {
            assertThat(a.agent()).hasToString(A);
            assertThat(a.entries()).extracting(RegistrationEntry::spiffeId).map(Object::toString)
                    .containsExactly(A + "/billing", A);
        });
        assertThat(EntriesWrite.check(POLICY, JSON.readTree("{\"agent\": \"" + A + "\", \"entries\": []}")))
                .isInstanceOfSatisfying(EntriesWrite.Accepted.class, a -> assertThat(a.entries()).isEmpty());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        // The agent itself.
        "{\"entries\": []}|INVALID_REQUEST||\"agent\" is missing",
        "{\"agent\": \"db-1\", \"entries\": []}|INVALID_REQUEST||agent 'db-1' is not a SPIFFE ID",
        "{\"agent\": \"spiffe://west.example/ns/shop/sa/db-1\", \"entries\": []}|NOT_A_VM_IDENTITY||not in this cluster's trust domain east.example",
        "{\"agent\": \"spiffe://east.example/ns/isthmus-system/sa/isthmus-gateway\", \"entries\": []}|NOT_A_VM_IDENTITY||gateway's own namespace",
        "{\"agent\": \"spiffe://east.example/ns/shop/sa/db-1/billing\", \"entries\": []}|NOT_A_VM_IDENTITY||is not of the form",
        "{\"agent\": \"spiffe://east.example/ns/shop/sa/db-1\"}|INVALID_REQUEST||\"entries\" is missing or not an array",
        // An entry of another VM, another trust domain, a bad selector: the whole write is refused, naming the entry.
        "{\"agent\": \"spiffe://east.example/ns/shop/sa/db-1\", \"entries\": [{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/ok\", \"selectors\": [\"unix:uid:1\"]}, {\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-2/x\", \"selectors\": [\"unix:uid:1\"]}]}|INVALID_ENTRY|NOT_UNDER_VM|entries[1] (not-under-vm): SPIFFE ID spiffe://east.example/ns/shop/sa/db-2/x is outside this VM's path",
        "{\"agent\": \"spiffe://east.example/ns/shop/sa/db-1\", \"entries\": [{\"spiffeId\": \"spiffe://west.example/ns/shop/sa/db-1/x\", \"selectors\": [\"unix:uid:1\"]}]}|INVALID_ENTRY|OTHER_TRUST_DOMAIN|entries[0] (other-trust-domain)",
        "{\"agent\": \"spiffe://east.example/ns/shop/sa/db-1\", \"entries\": [{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1x\", \"selectors\": [\"unix:uid:1\"]}]}|INVALID_ENTRY|NOT_UNDER_VM|outside this VM's path",
        "{\"agent\": \"spiffe://east.example/ns/shop/sa/db-1\", \"entries\": [{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\", \"selectors\": [\"unix:sha256:abc\"]}]}|INVALID_ENTRY|BAD_SELECTOR|64 lowercase hex",
        "{\"agent\": \"spiffe://east.example/ns/shop/sa/db-1\", \"entries\": [{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\", \"selectors\": []}]}|INVALID_ENTRY|NO_SELECTORS|nothing was changed"})
    void refusesWithTheReason(String body, EntriesWrite.Reason reason, RegistrationEntryRule.Reason entryReason,
            String message) throws Exception {
        assertThat(EntriesWrite.check(POLICY, JSON.readTree(body))).isInstanceOfSatisfying(EntriesWrite.Refused.class,
                r -> {
                    assertThat(r.reason()).isEqualTo(reason);
                    assertThat(r.entryReason()).isEqualTo(entryReason);
                    assertThat(r.message()).contains(message);
                });
    }
}
