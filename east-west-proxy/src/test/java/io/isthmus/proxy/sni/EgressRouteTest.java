package io.isthmus.proxy.sni;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;

/**
 * The egress relays a caller's TLS undecrypted only towards clusters whose export declares the named port
 * {@code mtls}; everything else it terminates (and authenticates) as before. {@code orders.shop} is exported by b
 * (8443 mtls) and c (8443 tcp: not passthrough there), {@code postgres.data} by b (5432 tcp).
 */
class EgressRouteTest {
    static final Instant NOW = Instant.now();

    static ExportedService export(String cluster, String name, ServicePort... ports) {
        String[] sn = name.split("\\.");
        return new ExportedService(new ServiceKey(cluster, sn[1], sn[0]), List.of(ports), List.of(),
                new IngressAddress(cluster + ".example", 15443), new Locality("eu", "eu-1"), 1, 1, NOW,
                Duration.ofMinutes(1));
    }

    static final Function<MeshName, List<ExportedService>> RESOLVE = name -> switch (name.service()) {
        case "orders" -> List.of(export("b", "orders.shop", new ServicePort("mtls", 8443, Protocol.MTLS),
                new ServicePort("http", 80, Protocol.HTTP)), export("c", "orders.shop",
                new ServicePort("tcp", 8443, Protocol.TCP)));
        case "postgres" -> List.of(export("b", "postgres.data", new ServicePort("pg", 5432, Protocol.TCP)));
        default -> List.of();
    };

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "null", value = {
            "8443.orders.shop.svc.clusterset.local, passthrough [b]",
            "8443.Orders.Shop.svc.clusterset.local, passthrough [b]",
            "null, terminate",
            "gw-a.example.com, terminate",
            "orders.shop.svc.clusterset.local, terminate",
            "80.orders.shop.svc.clusterset.local, terminate",
            "5432.postgres.data.svc.clusterset.local, terminate",
            "8443.unknown.shop.svc.clusterset.local, terminate",
            "08443.orders.shop.svc.clusterset.local, terminate",
            "9443.orders.shop.svc.clusterset.local, terminate",
    })
    void passesThroughOnlyDeclaredPorts(String sni, String expected) {
        EgressRoute route = EgressRoute.decide(sni, MeshName.DEFAULT_SUFFIX, RESOLVE);
        String got = route instanceof EgressRoute.Passthrough p
                ? "passthrough " + p.exports().stream().map(e -> e.key().cluster()).toList() : "terminate";
        assertThat(got).isEqualTo(expected);
    }
}
