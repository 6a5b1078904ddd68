package io.isthmus.integration.e2e;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.net.ssl.SSLParameters;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.trust.federation.BundleEndpointServer;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.TlsContexts;

/**
 * A SPIFFE bundle endpoint that presents a real SVID of one trust domain and relays whatever bundle endpoint it is
 * pointed at (its body and its stated time): a peer's endpoint URL can lead here from the start, and {@link #upstream}
 * turns it into an endpoint that proves to be beta yet serves gamma's bundle, as a misconfigured or compromised
 * front of beta would.
 */
final class BundleRelay implements AutoCloseable {
    private final HttpsServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(2);
    private volatile X509Svid identity;
    private volatile GatewayClient client;
    private volatile String upstream;

    /**
     * Listens at once (so that its URL can go into a peer's configuration), but serves only after {@link #serve}: its
     * identity is issued by a PKI that does not exist yet.
     */
    BundleRelay(String host) throws IOException {
        server = HttpsServer.create(new InetSocketAddress(host, 0), 8);
        var tls = TlsContexts.create(() -> identity, null);
        server.setHttpsConfigurator(new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = tls.getDefaultSSLParameters();
                p.setProtocols(TlsContexts.PROTOCOLS);
                params.setSSLParameters(p);
            }
        });
        server.createContext("/", exchange -> {
            try (exchange) {
                HttpResponse<String> answer;
                try {
                    if (client == null) {
                        throw new IOException("not serving yet");
                    }
                    answer = client.get(this.upstream);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    exchange.sendResponseHeaders(503, -1);
                    return;
                } catch (IOException e) {
                    exchange.sendResponseHeaders(502, -1);
                    return;
                }
                byte[] body = answer.body().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                answer.headers().firstValue(BundleEndpointServer.TIME_HEADER)
                        .ifPresent(t -> exchange.getResponseHeaders().set(BundleEndpointServer.TIME_HEADER, t));
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(answer.statusCode(), body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        server.setExecutor(executor);
        server.start();
    }

    String url() {
        return "https://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort() + "/";
    }

    /** Presents {@code identity} and relays {@code upstream}, fetched with {@code client}. */
    void serve(X509Svid identity, GatewayClient client, String upstream) {
        this.identity = identity;
        this.client = client;
        this.upstream = upstream;
    }

    void upstream(String url) {
        this.upstream = url;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
