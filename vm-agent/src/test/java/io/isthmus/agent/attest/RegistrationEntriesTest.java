package io.isthmus.agent.attest;

import io.isthmus.trust.attest.InvalidSelectorException;
import io.isthmus.trust.attest.Selector;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.trust.spiffe.SpiffeId;

/** The entries file: a good one loads; each bad entry fails the start, naming the entry and the fix. */
class RegistrationEntriesTest {
    private static final SpiffeId VM = SpiffeId.parse("spiffe://east.example/ns/shop/sa/db-1");

    @TempDir
    Path dir;

    private Path file(String json) throws Exception {
        return Files.writeString(dir.resolve("entries.json"), json);
    }

    @Test
    void readsTheReadmeExample() throws Exception {
        var entries = RegistrationEntries.read(file("""
                {"entries": [
                  {"spiffeId": "spiffe://east.example/ns/shop/sa/db-1/billing",
                   "selectors": ["unix:user:billing", "unix:path:/opt/billing/bin/billing"]},
                  {"spiffeId": "spiffe://east.example/ns/shop/sa/db-1",
                   "selectors": ["unix:uid:0"]}
                ]}"""), VM);
        assertThat(entries).hasSize(2);
        assertThat(entries.get(0).selectors()).extracting(Selector::toString)
                .containsExactly("unix:path:/opt/billing/bin/billing", "unix:user:billing");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "spiffe://east.example/ns/shop/sa/db-2/billing|unix:uid:1|entry 0: SPIFFE ID spiffe://east.example/ns/shop/sa/db-2/billing is outside this VM's path",
        "spiffe://east.example/ns/shop/sa/db-1x|unix:uid:1|is outside this VM's path",
        "spiffe://west.example/ns/shop/sa/db-1/billing|unix:uid:1|is in trust domain west.example",
        "spiffe://east.example/ns/shop/sa/db-1/../db-2|unix:uid:1|'.' or '..' path segment",
        "spiffe://east.example/ns/shop/sa/db-1/billing|unix:uid:x|selector 'unix:uid:x' has a bad value",
        "spiffe://east.example/ns/shop/sa/db-1/billing|docker:label:x|not of the form unix:<type>:<value>"})
    void refusesABadEntryNamingIt(String id, String selector, String expected) throws Exception {
        Path f = file("{\"entries\": [{\"spiffeId\": \"" + id + "\", \"selectors\": [\"" + selector + "\"]}]}");
        assertThatThrownBy(() -> RegistrationEntries.read(f, VM)).isInstanceOf(InvalidSelectorException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining(expected);
    }

    @Test
    void refusesAnEntryWithoutSelectorsAndAFileWithoutEntries() throws Exception {
        Path none = file("{\"entries\": [{\"spiffeId\": \"" + VM + "/x\", \"selectors\": []}]}");
        assertThatThrownBy(() -> RegistrationEntries.read(none, VM)).hasMessageContaining("has no selectors");
        Path notJson = file("entries:");
        assertThatThrownBy(() -> RegistrationEntries.read(notJson, VM)).hasMessageContaining("is not JSON");
        Path noArray = file("{}");
        assertThatThrownBy(() -> RegistrationEntries.read(noArray, VM)).hasMessageContaining("has no \"entries\" array");
    }
}
