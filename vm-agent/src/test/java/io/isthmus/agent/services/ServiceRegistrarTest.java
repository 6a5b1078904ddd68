package io.isthmus.agent.services;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import io.isthmus.agent.Backoff;

/** Heartbeats against a real HTTP server standing in for the gateway, and unregistration on close. */
class ServiceRegistrarTest {
    private final List<String> calls = new CopyOnWriteArrayList<>();
    private HttpServer gateway;

    private URI start(int status) throws Exception {
        gateway = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        gateway.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            calls.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + (body.isEmpty() ? "" : " " + body));
            exchange.sendResponseHeaders(exchange.getRequestMethod().equals("DELETE") ? 204 : status, -1);
            exchange.close();
        });
        gateway.start();
        return URI.create("http://127.0.0.1:" + gateway.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        gateway.stop(0);
    }

    private static ServiceRegistrar registrar(URI uri) {
        return new ServiceRegistrar(uri, HttpClient.newHttpClient(),
                List.of(new AgentService("ledger", "billing", 8080, "http", 18080),
                        new AgentService("metrics", "billing", 9100, "http", 19100)),
                Duration.ofMillis(100), new Backoff(Duration.ofMillis(50), Duration.ofMillis(100), () -> 0.5));
    }

    @Test
    void heartbeatsEveryServiceAndUnregistersThemOnClose() throws Exception {
        ServiceRegistrar registrar = registrar(start(200));
        registrar.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> registrar.successfulRounds() >= 2);
        registrar.close();

        assertThat(calls).filteredOn(c -> c.startsWith("PUT /v1/agent/services/ledger "))
                .allSatisfy(c -> assertThat(c).contains("\"namespace\":\"billing\"", "\"backendPort\":18080"))
                .hasSizeGreaterThanOrEqualTo(2);
        assertThat(calls.subList(calls.size() - 2, calls.size())).containsExactly(
                "DELETE /v1/agent/services/ledger?namespace=billing",
                "DELETE /v1/agent/services/metrics?namespace=billing");
        int seen = calls.size();
        Thread.sleep(300);
        assertThat(calls).as("no heartbeat after close").hasSize(seen);
    }

    @Test
    void neverRegisteredMeansNothingToUnregister() throws Exception {
        ServiceRegistrar registrar = registrar(start(403));
        registrar.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() >= 4);
        registrar.close();

        assertThat(calls).noneMatch(c -> c.startsWith("DELETE"));
    }
}
