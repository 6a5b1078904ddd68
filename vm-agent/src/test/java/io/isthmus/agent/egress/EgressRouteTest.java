package io.isthmus.agent.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.Function;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.SpiffeId;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** The first request's head, and the route the local egress chooses from it. */
class EgressRouteTest {
    private static final String ORDERS = "orders.shop.svc.clusterset.local";
    private static final PassthroughChoice.Passthrough E2E = new PassthroughChoice.Passthrough(8443, "8443." + ORDERS,
            Set.of(SpiffeId.parse("spiffe://beta.test/ns/shop/sa/orders")));
    /** orders:8443 declares passthrough, broken.shop declares it without identities, everything else goes via the gateway. */
    private static final Function<String, PassthroughChoice.Choice> REGISTRY = host -> host.equals(ORDERS + ":8443") ? E2E
            : host.startsWith("broken.shop") ? new PassthroughChoice.Refused("broken.shop declares mtls without identities")
            : new PassthroughChoice.ViaGateway();

    private static FirstRequest parse(String raw) throws FirstRequest.Malformed {
        ByteBuf b = Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1);
        try {
            return FirstRequest.parse(b);
        } finally {
            b.release();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // request head | route | host
            "GET /pay HTTP/1.1\\r\\nHost: payments.billing.svc.clusterset.local\\r\\n\\r\\n | gateway | payments.billing.svc.clusterset.local",
            "GET http://ledger.shop.svc.clusterset.local:8080/l HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n | gateway | ledger.shop.svc.clusterset.local:8080",
            "CONNECT pg.data.svc.clusterset.local:5432 HTTP/1.1\\r\\nHost: pg.data.svc.clusterset.local:5432\\r\\n\\r\\n | gateway | pg.data.svc.clusterset.local:5432",
            "CONNECT orders.shop.svc.clusterset.local:8443 HTTP/1.1\\r\\n\\r\\n | gateway | orders.shop.svc.clusterset.local:8443",
            "CONNECT example.com:443 HTTP/1.1\\r\\n\\r\\n | gateway | example.com:443",
            "GET http://orders.shop.svc.clusterset.local:8443/o HTTP/1.1\\r\\n\\r\\n | end-to-end | orders.shop.svc.clusterset.local:8443",
            "GET /o HTTP/1.1\\r\\nhost:  orders.shop.svc.clusterset.local:8443 \\r\\n\\r\\n | end-to-end | orders.shop.svc.clusterset.local:8443",
            "GET /b HTTP/1.1\\r\\nHost: broken.shop.svc.clusterset.local\\r\\n\\r\\n | 502 | broken.shop.svc.clusterset.local",
            "GET /x HTTP/1.0\\r\\n\\r\\n | 400 | ",
            "GET /x HTTP/1.1\\r\\nHost: \\r\\n\\r\\n | 400 | ",
    })
    void routes(String raw, String expected, String host) throws Exception {
        FirstRequest r = parse(raw.replace("\\r\\n", "\r\n"));
        assertThat(r.host()).isEqualTo(host);
        EgressRoute.Route route = EgressRoute.choose(r, REGISTRY);
        switch (expected) {
            case "gateway" -> assertThat(route).isInstanceOf(EgressRoute.ViaGateway.class);
            case "end-to-end" -> assertThat(route).isEqualTo(new EgressRoute.EndToEnd(E2E));
            default -> assertThat(route).isInstanceOfSatisfying(EgressRoute.Refused.class,
                    x -> assertThat(x.status()).isEqualTo(Integer.parseInt(expected)));
        }
    }

    @Test
    void withoutPassthroughEverythingThatNamesAServiceGoesViaTheGateway() throws Exception {
        assertThat(EgressRoute.choose(parse("GET /o HTTP/1.1\r\nHost: " + ORDERS + ":8443\r\n\r\n"), null))
                .isInstanceOf(EgressRoute.ViaGateway.class);
    }

    @Test
    void anIncompleteHeadWaitsAndBadOnesAreNamed() throws Exception {
        assertThat(parse("GET /x HTTP/1.1\r\nHost: a\r\n")).isNull();
        assertThatThrownBy(() -> parse("\u0016\u0003\u0001 hello\r\n\r\n")).isInstanceOf(FirstRequest.Malformed.class)
                .hasMessageContaining("is not an HTTP/1.1 request line").hasMessageContaining("'??? hello'");
        assertThatThrownBy(() -> parse("GET /x HTTP/2.0\r\n\r\n")).hasMessageContaining("'GET /x HTTP/2.0'");
        assertThatThrownBy(() -> parse("GET /x HTTP/1.1\r\nX: " + "a".repeat(FirstRequest.MAX_HEAD) + "\r\n\r\n"))
                .hasMessageContaining("longer than " + FirstRequest.MAX_HEAD);
        assertThatThrownBy(() -> parse("GET /x HTTP/1.1\r\nX: " + "a".repeat(FirstRequest.MAX_HEAD)))
                .hasMessageContaining("longer than " + FirstRequest.MAX_HEAD);
    }

    @Test
    void theWorkloadGetsOriginFormItsHostNoProxyHeadersAndOneRequestPerConnection() throws Exception {
        FirstRequest r = parse("POST http://" + ORDERS + ":8443/o?id=1 HTTP/1.1\r\nHost: " + ORDERS + ":8443\r\n"
                + "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nTransfer-Encoding: chunked\r\n"
                + "Trailer: x-sum\r\n\r\n5\r\nhello\r\n");
        assertThat(new String(r.forWorkload(), StandardCharsets.ISO_8859_1)).isEqualTo("POST /o?id=1 HTTP/1.1\r\n"
                + "Host: " + ORDERS + ":8443\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\nConnection: close\r\n\r\n");
        assertThat(r.headLength()).isEqualTo(("POST http://" + ORDERS + ":8443/o?id=1 HTTP/1.1\r\nHost: " + ORDERS
                + ":8443\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nTransfer-Encoding: "
                + "chunked\r\nTrailer: x-sum\r\n\r\n").length());
    }
}
