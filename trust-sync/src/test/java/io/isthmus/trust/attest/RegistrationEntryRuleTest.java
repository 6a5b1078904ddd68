package io.isthmus.trust.attest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The one rule for a registration entry, wherever it comes from (the agent's file, the gateway's admin API, the
 * gateway's answer to the agent): valid rows, and each invalid one with its typed reason and a message quoting it.
 */
class RegistrationEntryRuleTest {
    private static final SpiffeId VM = SpiffeId.parse("spiffe://east.example/ns/shop/sa/db-1");
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/billing\", \"selectors\": [\"unix:user:billing\", \"unix:path:/opt/billing/bin/billing\"]}",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1\", \"selectors\": [\"unix:uid:0\"]}",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/a/b\", \"selectors\": [\"unix:sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"]}"})
    void acceptsEntriesUnderTheVmsPath(String entry) throws Exception {
        var verdict = RegistrationEntryRule.check(VM, JSON.readTree(entry));
        assertThat(verdict).isInstanceOf(RegistrationEntryRule.Valid.class);
        RegistrationEntry e = ((RegistrationEntryRule.Valid) verdict).entry();
        // What the rule writes, it reads back as the same entry (the gateway stores and sends this form).
        assertThat(RegistrationEntryRule.check(VM, RegistrationEntryRule.json(e))).isEqualTo(verdict);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`\"just a string\"`|MALFORMED|must be a JSON object",
        "{\"selectors\": [\"unix:uid:1\"]}|MALFORMED_ID|\"spiffeId\" is missing",
        "{\"spiffeId\": 7, \"selectors\": [\"unix:uid:1\"]}|MALFORMED_ID|\"spiffeId\" is missing or not a string",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/../db-2\", \"selectors\": [\"unix:uid:1\"]}|MALFORMED_ID|'spiffe://east.example/ns/shop/sa/db-1/../db-2' is not a workload SPIFFE ID",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/%2e%2e\", \"selectors\": [\"unix:uid:1\"]}|MALFORMED_ID|is not a workload SPIFFE ID",
        "{\"spiffeId\": \"spiffe://east.example\", \"selectors\": [\"unix:uid:1\"]}|MALFORMED_ID|is not a workload SPIFFE ID",
        "{\"spiffeId\": \"spiffe://west.example/ns/shop/sa/db-1/billing\", \"selectors\": [\"unix:uid:1\"]}|OTHER_TRUST_DOMAIN|is in trust domain west.example",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-2/billing\", \"selectors\": [\"unix:uid:1\"]}|NOT_UNDER_VM|spiffe://east.example/ns/shop/sa/db-2/billing is outside this VM's path",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1x\", \"selectors\": [\"unix:uid:1\"]}|NOT_UNDER_VM|outside this VM's path",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa\", \"selectors\": [\"unix:uid:1\"]}|NOT_UNDER_VM|outside this VM's path",
        "{\"spiffeId\": \"spiffe://east.example/ns/isthmus-system/sa/isthmus-gateway\", \"selectors\": [\"unix:uid:1\"]}|NOT_UNDER_VM|outside this VM's path",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\"}|NO_SELECTORS|has no selectors",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\", \"selectors\": []}|NO_SELECTORS|would match every caller",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\", \"selectors\": \"unix:uid:1\"}|NO_SELECTORS|not an array",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\", \"selectors\": [\"unix:uid:x\"]}|BAD_SELECTOR|selector 'unix:uid:x' has a bad value",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\", \"selectors\": [\"docker:label:a\"]}|BAD_SELECTOR|not of the form unix:<type>:<value>",
        "{\"spiffeId\": \"spiffe://east.example/ns/shop/sa/db-1/x\", \"selectors\": [\"unix:uid:1\", 5]}|BAD_SELECTOR|a selector is null"})
    void refusesEachBadEntryWithItsReason(String entry, RegistrationEntryRule.Reason reason, String message)
            throws Exception {
        JsonNode json = JSON.readTree(entry);
        assertThat(RegistrationEntryRule.check(VM, json)).isInstanceOfSatisfying(RegistrationEntryRule.Invalid.class, i -> {
            assertThat(i.reason()).isEqualTo(reason);
            assertThat(i.message()).contains(message);
        });
    }
}
