package io.isthmus.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.check.StatusFixtures;

/** The status report survives the trip from the gateway to the CLI, and the CLI says what is wrong with a bad one. */
class StatusJsonTest {
    @Test
    void aReportReadsBackEqual() {
        FederationStatus s = StatusFixtures.healthy();
        String json = StatusJson.write(s);
        assertThat(json).contains("\"time\":\"" + s.time() + "\"").contains("\"lastError\":null");
        assertThat(StatusJson.read(json, "test")).isEqualTo(s);
    }

    @Test
    void unknownFieldsFromANewerGatewayAreIgnored() {
        String json = StatusJson.write(StatusFixtures.healthy()).replaceFirst("\\{", "{\"newField\":[1,2],");
        assertThat(StatusJson.read(json, "test").cluster()).isEqualTo("alpha");
    }

    @Test
    void somethingElseIsRefusedNamingTheSource() {
        assertThatThrownBy(() -> StatusJson.read("{\"status\":\"UP\"}", "http://gw:8080/federation/api/status"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("http://gw:8080/federation/api/status is not an Isthmus status report");
    }
}
