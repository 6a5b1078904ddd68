package io.isthmus.trust.attest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** SPIRE's unix selector forms (plugin_agent_workloadattestor_unix.md), accepted and refused with the reason. */
class SelectorTest {
    @ParameterizedTest
    @ValueSource(strings = {"unix:uid:1000", "unix:uid:0", "unix:user:nginx", "unix:gid:1000", "unix:group:www-data",
            "unix:path:/usr/bin/app", "unix:path:/opt/my app/bin:x",
            "unix:sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "unix:user:svc$"})
    void acceptsSpireForms(String text) {
        assertThat(Selector.parse(text).toString()).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "unix:uid:-1|a decimal user ID",
        "unix:uid:01|a decimal user ID",
        "unix:uid:nginx|a decimal user ID",
        "unix:gid:|a decimal group ID",
        "unix:user:|a user name",
        "unix:user:a b|a user name",
        "unix:path:relative/app|an absolute path",
        "unix:sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08|64 lowercase hex",
        "unix:sha256:abc|64 lowercase hex",
        "unix:supplementary_gid:10|unknown type 'supplementary_gid'",
        "k8s:ns:default|not of the form unix:<type>:<value>",
        "unix:uid|not of the form unix:<type>:<value>",
        "uid:1000|not of the form unix:<type>:<value>"})
    void refusesWithTheReason(String text, String expected) {
        assertThatThrownBy(() -> Selector.parse(text)).isInstanceOf(InvalidSelectorException.class)
                .hasMessageContaining(text).hasMessageContaining(expected);
    }
}
