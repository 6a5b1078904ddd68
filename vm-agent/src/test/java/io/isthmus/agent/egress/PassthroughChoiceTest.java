package io.isthmus.agent.egress;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.agent.egress.PassthroughChoice.Export;
import io.isthmus.agent.egress.PassthroughChoice.Port;

/**
 * When the VM calls a destination end to end with its own SVID, and when through its gateway. Destinations:
 * <ul>
 * <li>orders: b exports 8443 mtls (identity orders), c exports 8443 tcp;</li>
 * <li>ledger: 80 http and 9443 mtls;</li>
 * <li>anon: 8443 mtls without identities;</li>
 * <li>stale: 8443 mtls, not routable;</li>
 * <li>payments: 80 http only.</li>
 * </ul>
 */
class PassthroughChoiceTest {
    static final String ORDERS_ID = "spiffe://b.acme.internal/ns/shop/sa/orders";
    static final Map<String, List<Export>> REGISTRY = Map.of(
            "orders", List.of(new Export("b", true, List.of(new Port(8443, "mtls")), List.of(ORDERS_ID)),
                    new Export("c", true, List.of(new Port(8443, "tcp")), List.of("spiffe://c.acme.internal/ns/shop/sa/orders"))),
            "ledger", List.of(new Export("b", true, List.of(new Port(80, "http"), new Port(9443, "mtls")),
                    List.of("spiffe://b.acme.internal/ns/shop/sa/ledger"))),
            "anon", List.of(new Export("b", true, List.of(new Port(8443, "mtls")), List.of())),
            "stale", List.of(new Export("b", false, List.of(new Port(8443, "mtls")), List.of(ORDERS_ID))),
            "payments", List.of(new Export("b", true, List.of(new Port(80, "http")), List.of())));

    @ParameterizedTest(name = "{0}:{1} -> {2}")
    @CsvSource({
            "orders, 8443, passthrough 8443.orders.shop.svc.clusterset.local [" + ORDERS_ID + "]",
            "orders, -1, passthrough 8443.orders.shop.svc.clusterset.local [" + ORDERS_ID + "]",
            "orders, 80, gateway",
            "ledger, -1, gateway",
            "ledger, 80, gateway",
            "ledger, 9443, passthrough 9443.ledger.shop.svc.clusterset.local [spiffe://b.acme.internal/ns/shop/sa/ledger]",
            "anon, 8443, refused",
            "stale, 8443, gateway",
            "payments, -1, gateway",
            "unknown, 8443, gateway",
    })
    void choosesPassthroughOnlyForDeclaredPortsTowardsNamedIdentities(String service, int port, String expected) {
        PassthroughChoice.Choice c = PassthroughChoice.choose(service, "shop", "svc.clusterset.local", port,
                REGISTRY.getOrDefault(service, List.of()));
        String got = switch (c) {
            case PassthroughChoice.ViaGateway g -> "gateway";
            case PassthroughChoice.Refused r -> "refused";
            case PassthroughChoice.Passthrough p -> "passthrough " + p.serverName() + " "
                    + p.identities().stream().map(Object::toString).sorted().toList();
        };
        assertThat(got).isEqualTo(expected);
    }

    @org.junit.jupiter.api.Test
    void refusalSaysWhatIsMissing() {
        var r = (PassthroughChoice.Refused) PassthroughChoice.choose("anon", "shop", "svc.clusterset.local", 8443,
                REGISTRY.get("anon"));
        assertThat(r.detail()).contains("anon.shop.svc.clusterset.local port 8443").contains("[b]")
                .contains("without naming the identities");
    }
}
