package io.isthmus.agent.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.x509.Pem;

/**
 * A TLS server holding a gateway SVID ({@code svid}, genuine under the test federation root) that answers
 * {@code /v1/enrol} and {@code /v1/renew} as a gateway would: it records every request that reached it (path and
 * body, a join token included) and signs whatever key the CSR holds as {@code vm} with {@code ca}. Played by the
 * real gateway of the agent's trust domain, or by a gateway of another one posing as it.
 */
final class FakeGateway implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A request that reached the server. */
    record Received(String path, JsonNode body) {
    }

    private final HttpsServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();

    private FakeGateway(X509Svid svid, CaCredential ca, SpiffeId vm) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {new SvidKeyManager(() -> svid)}, null, null);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(ctx));
        server.createContext("/", exchange -> answer(exchange, ca, vm));
        server.start();
    }

    static FakeGateway start(X509Svid svid, CaCredential ca, SpiffeId vm) throws Exception {
        return new FakeGateway(svid, ca, vm);
    }

    URI uri() {
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort());
    }

    List<Received> received() {
        return List.copyOf(received);
    }

    /** The join tokens it was sent. */
    List<String> tokens() {
        return received.stream().filter(r -> r.body().has("token")).map(r -> r.body().path("token").asText()).toList();
    }

    private void answer(HttpExchange exchange, CaCredential ca, SpiffeId vm) throws IOException {
        try (exchange) {
            byte[] request = exchange.getRequestBody().readAllBytes();
            JsonNode body = request.length == 0 ? JSON.createObjectNode() : JSON.readTree(request);
            received.add(new Received(exchange.getRequestURI().getPath(), body));
            List<X509Certificate> chain = new SvidIssuer(Clock.systemUTC()).issueFromCsr(ca, vm,
                    body.path("csr").asText().getBytes(StandardCharsets.US_ASCII), Duration.ofHours(1));
            byte[] reply = JSON.createObjectNode().put("spiffeId", vm.toString())
                    .put("svidChain", Pem.write(chain.toArray())).set("bundles", JSON.createObjectNode()).toString()
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, reply.length);
            exchange.getResponseBody().write(reply);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
