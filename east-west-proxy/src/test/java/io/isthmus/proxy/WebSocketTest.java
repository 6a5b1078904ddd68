package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.isthmus.proxy.authz.Decision;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;

/**
 * Issue 14 item 2: a WebSocket across clusters. Netty's WebSocket client calls {@code ws://chat.demo...} through a's
 * egress; the Upgrade goes on a connection of its own to b's ingress, is authorized there once, on the upgrade request
 * (by the caller's identity, like any request), reaches Netty's WebSocket server, and after the 101 both gateways
 * carry the frames as bytes: echoes come back, a close ends it. A caller the policy denies gets 403 on the upgrade.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebSocketTest {
    private static final MeshName CHAT = MeshName.of("chat", "demo");

    private Federation fed;
    private NettyBackends backend;
    private final EventLoopGroup clients = new NioEventLoopGroup(1);

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)));
        backend = new NettyBackends();
        fed.extraBackends.put(CHAT.host(), backend.webSocket());
        fed.export(fed.cluster("b"), CHAT, new ServicePort("http", 80, Protocol.HTTP));
    }

    @AfterAll
    void stop() {
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        fed.close();
        backend.close();
    }

    private WebSocketClient connect(String token) throws Exception {
        return new WebSocketClient(clients, fed.cluster("a").egress.address(), null, CHAT.host(), "/ws",
                new DefaultHttpHeaders().set("authorization", "Bearer " + token));
    }

    @Test
    void aWebSocketEchoCrossesBothGatewaysAuthorizedOnceOnItsUpgrade() throws Exception {
        int asked = fed.asked.size();
        WebSocketClient ws = connect("checkout");
        ws.handshake.get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 20; i++) {
            ws.send("message " + i);
            assertThat(ws.received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo: message " + i);
        }
        ws.send("bye");
        assertThat(ws.received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo: bye");
        assertThat(ws.closeFuture().await(10, TimeUnit.SECONDS)).as("the backend's close reached the caller").isTrue();
        // One decision for the whole WebSocket: the upgrade request, by the caller's identity.
        assertThat(fed.asked.subList(asked, fed.asked.size())).singleElement().satisfies(a -> {
            assertThat(a.source().toString()).isEqualTo(Federation.CHECKOUT);
            assertThat(a.method()).contains("GET");
            assertThat(a.path()).contains("/ws");
            assertThat(a.destination()).isEqualTo(CHAT);
        });
        assertThat(fed.logged.get(fed.logged.size() - 1)).isInstanceOf(Decision.Allowed.class);
        assertThat(backend.seen).anySatisfy(s -> assertThat(s).isEqualTo("GET /ws upgrade xfcc=By=spiffe://b.acme"
                + ".internal/ns/isthmus-system/sa/isthmus-gateway;URI=" + Federation.CHECKOUT));
        assertThat(fed.cluster("a").counter("isthmus_requests_total", "direction", "egress", "code", "101"))
                .isEqualTo(1.0);
    }

    @Test
    void aCallerThePolicyDeniesGets403OnTheUpgradeAndNeverReachesTheBackend() throws Exception {
        int handshakes = backend.seen.size();
        WebSocketClient ws = connect("cart");
        assertThatThrownBy(() -> ws.handshake.get(10, TimeUnit.SECONDS)).cause()
                .isInstanceOf(WebSocketClientHandshakeException.class).hasMessageContaining("403");
        assertThat(backend.seen).hasSize(handshakes);
        assertThat(fed.cluster("b").counter("isthmus_authz_denials_total", "reason", "no-matching-allow"))
                .isGreaterThanOrEqualTo(1.0);
    }
}
