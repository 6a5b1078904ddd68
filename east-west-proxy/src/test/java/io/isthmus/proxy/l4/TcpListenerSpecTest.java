package io.isthmus.proxy.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * A TCP listener's configuration, including whom plaintext clients may act as: an identity of this trust domain,
 * never a gateway's (a listener must not turn anonymous clients into a gateway, which may vouch).
 */
class TcpListenerSpecTest {
    static final TrustDomain A = TrustDomain.parse("a.acme.internal");
    static final GatewayIdentities GATEWAYS = GatewayIdentities.conventional(List.of(A));
    static final String SUFFIX = MeshName.DEFAULT_SUFFIX;

    @Test
    void plaintextListenerSpeaksForAWorkloadOfThisTrustDomain() {
        TcpListenerSpec spec = TcpListenerSpec.parse("pg", "pg.data.svc.clusterset.local", 5432, "127.0.0.1:0",
                Optional.of("spiffe://a.acme.internal/ns/reports/sa/reporting"), SUFFIX, A, GATEWAYS);
        assertThat(spec.route().sni()).isEqualTo("5432.pg.data.svc.clusterset.local");
        assertThat(spec.route().authority()).isEqualTo("pg.data.svc.clusterset.local:5432");
        assertThat(spec.bind().getPort()).isZero();
        assertThat(spec.plaintextCaller()).map(Object::toString).contains("spiffe://a.acme.internal/ns/reports/sa/reporting");
        assertThat(TcpListenerSpec.parse("pg", "PG.Data.svc.clusterset.local", 5432, "[::1]:15432", Optional.empty(),
                SUFFIX, A, GATEWAYS).plaintextCaller()).isEmpty();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} -> {4} in {5}")
    @CsvSource(nullValues = "null", value = {
            "pg.data, 5432, 127.0.0.1:0, null, NOT_A_MESH_NAME, service",
            "pg.data.svc.clusterset.local:5432, 5432, 127.0.0.1:0, null, NOT_A_MESH_NAME, service",
            "db.example.com, 5432, 127.0.0.1:0, null, NOT_A_MESH_NAME, service",
            "pg.data.svc.clusterset.local, 0, 127.0.0.1:0, null, PORT_OUT_OF_RANGE, port",
            "pg.data.svc.clusterset.local, 65536, 127.0.0.1:0, null, PORT_OUT_OF_RANGE, port",
            "pg.data.svc.clusterset.local, 5432, 127.0.0.1, null, BAD_BIND_ADDRESS, bind",
            "pg.data.svc.clusterset.local, 5432, 127.0.0.1:99999, null, BAD_BIND_ADDRESS, bind",
            "pg.data.svc.clusterset.local, 5432, :15432, null, BAD_BIND_ADDRESS, bind",
            "pg.data.svc.clusterset.local, 5432, 127.0.0.1:x, null, BAD_BIND_ADDRESS, bind",
            "pg.data.svc.clusterset.local, 5432, 127.0.0.1:0, reporting, CALLER_NOT_A_SPIFFE_ID, plaintext-caller",
            "pg.data.svc.clusterset.local, 5432, 127.0.0.1:0, spiffe://b.acme.internal/ns/reports/sa/reporting, CALLER_OF_ANOTHER_TRUST_DOMAIN, plaintext-caller",
            "pg.data.svc.clusterset.local, 5432, 127.0.0.1:0, spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway, CALLER_IS_A_GATEWAY, plaintext-caller",
    })
    void refusesWithTheFieldAndReason(String service, int port, String bind, String caller,
            TcpListenerSpec.Problem problem, String field) {
        assertThatThrownBy(() -> TcpListenerSpec.parse("pg", service, port, bind, Optional.ofNullable(caller), SUFFIX,
                A, GATEWAYS)).isInstanceOfSatisfying(TcpListenerSpec.InvalidSpecException.class, e -> {
                    assertThat(e.problem()).isEqualTo(problem);
                    assertThat(e.field()).isEqualTo(field);
                    assertThat(e.getMessage()).contains(field.equals("port") ? Integer.toString(port)
                            : field.equals("bind") ? bind : field.equals("service") ? service : caller);
                });
    }
}
