package io.isthmus.proxy.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.registry.MeshName;

/** How the egress reads the caller's target: proxy style, Host style, CONNECT; and what it refuses. */
class EgressTargetTest {
    private static final String SUFFIX = MeshName.DEFAULT_SUFFIX;

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "http://payments.billing.svc.clusterset.local/charge?x=1 | ignored.example | -1   | /charge?x=1 | true",
        "http://payments.billing.svc.clusterset.local:8080      |                 | 8080 | /           | true",
        "HTTP://Payments.Billing.svc.clusterset.local.:81/a     |                 | 81   | /a          | true",
        "/charge                                                | payments.billing.svc.clusterset.local:9090 | 9090 | /charge | false",
        "/                                                      | payments.billing.svc.clusterset.local      | -1   | /       | false",
        "http://payments.billing.svc.clusterset.local#@raw.demo.svc.clusterset.local/x |  | -1 | /#@raw.demo.svc.clusterset.local/x | true",
        "http://payments.billing.svc.clusterset.local?@raw.demo.svc.clusterset.local/x |  | -1 | /?@raw.demo.svc.clusterset.local/x | true",
        "http://payments.billing.svc.clusterset.local:81?q=1     |                 | 81   | /?q=1       | true",
    })
    void acceptsMeshNames(String uri, String host, int port, String path, boolean proxyStyle) throws Exception {
        EgressTarget t = EgressTarget.parse(uri, host, SUFFIX);
        assertThat(t.name()).isEqualTo(MeshName.of("payments", "billing"));
        assertThat(t.port()).isEqualTo(port);
        assertThat(t.path()).isEqualTo(path);
        assertThat(t.proxyStyle()).isEqualTo(proxyStyle);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "http://example.com/                                  |                                       | not a mesh name",
        "https://payments.billing.svc.clusterset.local/       |                                       | the gateway provides the mutual TLS",
        "/                                                    |                                       | neither an absolute URI nor a Host",
        "/                                                    | payments.svc.clusterset.local         | not a mesh name",
        "/                                                    | a.b.c.svc.clusterset.local            | not a mesh name",
        "/                                                    | payments.billing.svc.clusterset.local:99999 | outside 1-65535",
        "/                                                    | payments.billing.svc.clusterset.local:x     | not a number",
        "/                                                    | Pay_ments.billing.svc.clusterset.local      | not a mesh name",
    })
    void refusesEverythingElse(String uri, String host, String message) {
        assertThatThrownBy(() -> EgressTarget.parse(uri, host, SUFFIX)).isInstanceOf(EgressTarget.NotAMeshName.class)
                .hasMessageContaining(message);
    }

    @ParameterizedTest
    @CsvSource({"payments.billing.svc.clusterset.local:5432,5432"})
    void connectNamesAPort(String authority, int port) throws Exception {
        assertThat(EgressTarget.parseConnect(authority, SUFFIX).port()).isEqualTo(port);
        assertThatThrownBy(() -> EgressTarget.parseConnect("payments.billing.svc.clusterset.local", SUFFIX))
                .hasMessageContaining("name the port");
    }
}
