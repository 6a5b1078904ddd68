package io.isthmus.proxy.sni;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.ingress.LocalBackends;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;

/**
 * The ingress's routing by server name, as an attacker sees it: every SNI a caller can send, and what it reaches.
 * This cluster exports
 * <ul>
 * <li>{@code orders.shop}: 8443 {@code mtls} (own backend), 80 {@code http} (another backend);</li>
 * <li>{@code postgres.data}: 5432 {@code tcp};</li>
 * <li>{@code payments.billing}: 80 {@code http} only;</li>
 * <li>{@code legacy.shop}: 9443 {@code mtls} and 80 {@code http} on one backend (misconfigured);</li>
 * <li>{@code ghost.shop}: 8443 {@code mtls} without a backend here.</li>
 * </ul>
 * Only a port declared {@code mtls} with a backend of its own is ever passed through.
 */
class IngressRouteTest {
    static final String SUFFIX = MeshName.DEFAULT_SUFFIX;
    static final InetSocketAddress ORDERS_TLS = InetSocketAddress.createUnresolved("10.0.0.5", 8443);
    static final InetSocketAddress ORDERS_HTTP = InetSocketAddress.createUnresolved("10.0.0.5", 8080);
    static final InetSocketAddress LEGACY = InetSocketAddress.createUnresolved("10.0.0.9", 8080);

    static final Map<String, List<ServicePort>> EXPORTS = Map.of(
            "orders.shop", List.of(new ServicePort("mtls", 8443, Protocol.MTLS), new ServicePort("http", 80, Protocol.HTTP)),
            "postgres.data", List.of(new ServicePort("postgres", 5432, Protocol.TCP)),
            "payments.billing", List.of(new ServicePort("http", 80, Protocol.HTTP),
                    new ServicePort("grpc", 9090, Protocol.GRPC), new ServicePort("h2", 8081, Protocol.HTTP2)),
            "legacy.shop", List.of(new ServicePort("mtls", 9443, Protocol.MTLS), new ServicePort("http", 80, Protocol.HTTP)),
            "ghost.shop", List.of(new ServicePort("mtls", 8443, Protocol.MTLS)));

    static final LocalExports LOCAL = name -> Optional.ofNullable(EXPORTS.get(name.service() + "." + name.namespace()));

    /** Backends by port where the deployment distinguishes ports; one address for all of legacy's ports. */
    static final LocalBackends BACKENDS = (name, port) -> switch (name.service() + "." + name.namespace()) {
        case "orders.shop" -> Optional.of(port == 8443 ? ORDERS_TLS : ORDERS_HTTP);
        case "legacy.shop" -> Optional.of(LEGACY);
        case "postgres.data" -> Optional.of(InetSocketAddress.createUnresolved("10.0.0.7", 5432));
        case "payments.billing" -> Optional.of(InetSocketAddress.createUnresolved("10.0.0.8", 8080));
        default -> Optional.empty();
    };

    static Stream<Arguments> rows() {
        return Stream.of(
                // No route name: the gateway terminates mTLS, then authorizes every request, as without SNI.
                Arguments.of(null, "terminate"),
                Arguments.of("", "terminate"),
                Arguments.of("gw-b.example.com", "terminate"),
                Arguments.of("10.0.0.1", "terminate"),
                Arguments.of("orders.shop.svc.clusterset.local", "terminate"),
                Arguments.of("payments.billing.svc.clusterset.local", "terminate"),
                Arguments.of("8443.orders.shop.svc.clusterset.local.evil.example", "terminate"),
                Arguments.of("8443.orders.shop.svc.clusterset.localx", "terminate"),
                Arguments.of("8443.orders.shop.svc.clusterset.local.", "terminate"),
                Arguments.of("svc.clusterset.local", "terminate"),
                // Declared passthrough, with its own backend: the only rows that skip the gateway's authorization.
                Arguments.of("8443.orders.shop.svc.clusterset.local", "passthrough 10.0.0.5:8443"),
                Arguments.of("8443.ORDERS.Shop.SVC.clusterset.local", "passthrough 10.0.0.5:8443"),
                // tcp: terminated by the gateway; the caller's identity is then authorized at L4.
                Arguments.of("5432.postgres.data.svc.clusterset.local", "tcp 5432.postgres.data.svc.clusterset.local"),
                // The same service's gateway-authorized port, by route name: refused, not passed through.
                Arguments.of("80.orders.shop.svc.clusterset.local", "refused sni-http-port"),
                Arguments.of("80.payments.billing.svc.clusterset.local", "refused sni-http-port"),
                Arguments.of("9090.payments.billing.svc.clusterset.local", "refused sni-http-port"),
                Arguments.of("8081.payments.billing.svc.clusterset.local", "refused sni-http-port"),
                // A passthrough port on the backend of a gateway-authorized port (plain HTTP): refused.
                Arguments.of("9443.legacy.shop.svc.clusterset.local", "refused sni-backend-shared"),
                Arguments.of("8443.ghost.shop.svc.clusterset.local", "refused sni-no-backend"),
                // Names that this cluster does not export that way.
                Arguments.of("8443.payments.billing.svc.clusterset.local", "refused sni-unknown-port"),
                Arguments.of("5433.postgres.data.svc.clusterset.local", "refused sni-unknown-port"),
                Arguments.of("8443.admin.kube-system.svc.clusterset.local", "refused sni-unknown-service"),
                Arguments.of("443.kubernetes.default.svc.clusterset.local", "refused sni-unknown-service"),
                // Shaped like route names, but not: one spelling per port, labels as Kubernetes allows.
                Arguments.of("08443.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("+8443.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("0.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("65536.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("99999999999.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("http.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("*.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("x.8443.orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("8443..shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("8443.orders..svc.clusterset.local", "refused sni-malformed"),
                Arguments.of(".orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("8443.orders_x.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("8443.-orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("8443.orders.shop\u0000.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("8443 .orders.shop.svc.clusterset.local", "refused sni-malformed"),
                Arguments.of("orders.svc.clusterset.local", "refused sni-malformed"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("rows")
    void routesByServerName(String sni, String expected) {
        assertThat(describe(IngressRoute.decide(sni, SUFFIX, LOCAL, BACKENDS))).isEqualTo(expected);
    }

    @org.junit.jupiter.api.Test
    void refusalsQuoteTheNameAndSayWhatToDo() {
        IngressRoute.Refused malformed = (IngressRoute.Refused) IngressRoute.decide("08443.orders.shop.svc.clusterset.local",
                SUFFIX, LOCAL, BACKENDS);
        assertThat(malformed.detail()).contains("'08443.orders.shop.svc.clusterset.local'")
                .contains("<port>.<service>.<namespace>.svc.clusterset.local");
        IngressRoute.Refused http = (IngressRoute.Refused) IngressRoute.decide("80.orders.shop.svc.clusterset.local",
                SUFFIX, LOCAL, BACKENDS);
        assertThat(http.detail()).contains("speaks http").contains("call it over HTTP through your egress");
        IngressRoute.Refused shared = (IngressRoute.Refused) IngressRoute.decide("9443.legacy.shop.svc.clusterset.local",
                SUFFIX, LOCAL, BACKENDS);
        assertThat(shared.detail()).contains("10.0.0.9:8080").contains("http port 80").contains("its own backend");
        IngressRoute.Refused control = (IngressRoute.Refused) IngressRoute.decide("8443.orders.shop\r\n.svc.clusterset.local",
                SUFFIX, LOCAL, BACKENDS);
        assertThat(control.detail()).contains("\\x0d\\x0a").doesNotContain("\r");
    }

    @org.junit.jupiter.api.Test
    void withNothingExportedEveryRouteNameIsRefusedAndEverythingElseTerminated() {
        assertThat(describe(IngressRoute.decide("8443.orders.shop.svc.clusterset.local", SUFFIX, LocalExports.none(),
                BACKENDS))).isEqualTo("refused sni-unknown-service");
        assertThat(describe(IngressRoute.decide("gw-b.example.com", SUFFIX, LocalExports.none(), BACKENDS)))
                .isEqualTo("terminate");
    }

    static String describe(IngressRoute route) {
        return switch (route) {
            case IngressRoute.Terminate t -> "terminate";
            case IngressRoute.TerminateTcp t -> "tcp " + t.route().sni();
            case IngressRoute.Passthrough p -> "passthrough " + p.backend().getHostString() + ":" + p.backend().getPort();
            case IngressRoute.Refused r -> "refused " + r.reason().code();
        };
    }
}
