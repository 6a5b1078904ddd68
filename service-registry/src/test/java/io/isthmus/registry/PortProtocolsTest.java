package io.isthmus.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * How a port's protocol is read from Kubernetes ({@code appProtocol}, else the port name) and from configuration.
 * Passthrough ({@code mtls}) changes who authenticates the caller, so it is only ever declared, never inferred from
 * a name: a {@code tls-} or {@code https} port stays an opaque TCP port that gateways terminate and authorize.
 */
class PortProtocolsTest {

    @ParameterizedTest(name = "appProtocol={0} name={1} -> {2}")
    @CsvSource(nullValues = "null", value = {
            "null, http, HTTP",
            "null, http-web, HTTP",
            "null, http2-api, HTTP2",
            "null, h2c, HTTP2",
            "null, grpc-api, GRPC",
            "null, tcp-postgres, TCP",
            "null, postgres, TCP",
            "null, null, TCP",
            // Declared passthrough: the workload terminates mTLS with its own SVID.
            "isthmus.io/mtls, orders, MTLS",
            "ISTHMUS.IO/MTLS, orders, MTLS",
            "mtls, orders, MTLS",
            // Never inferred from a name, whatever it suggests.
            "null, mtls, TCP",
            "null, mtls-orders, TCP",
            "null, tls-orders, TCP",
            "null, https, TCP",
            "https, https, TCP",
            "kubernetes.io/h2c, web, HTTP2",
            "kubernetes.io/ws, http-ws, HTTP",
            "'', grpc, GRPC",
    })
    void infersFromAppProtocolThenName(String appProtocol, String name, Protocol expected) {
        assertThat(PortProtocols.infer(appProtocol, name)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "postgres:5432:tcp, TCP",
            "orders:8443:mtls, MTLS",
            "http:80, HTTP",
            "mtls:8443, TCP",
            "grpc:9090, GRPC",
    })
    void parsesConfiguredPorts(String text, Protocol expected) {
        assertThat(PortProtocols.parse(text).protocol()).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"orders:8443:tls", "orders:8443:https", "orders:8443:passthrough"})
    void refusesUnknownProtocolsNamingTheChoices(String text) {
        assertThatThrownBy(() -> PortProtocols.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("use http, http2, grpc, tcp or mtls");
    }

    @org.junit.jupiter.api.Test
    void onlyMtlsIsPassthroughAndItIsNotHttp() {
        for (Protocol p : Protocol.values()) {
            assertThat(p.isPassthrough()).as(p.name()).isEqualTo(p == Protocol.MTLS);
        }
        assertThat(Protocol.MTLS.isHttp()).isFalse();
        assertThat(Protocol.TCP.isHttp()).isFalse();
        assertThat(Protocol.GRPC.isHttp()).isTrue();
    }
}
