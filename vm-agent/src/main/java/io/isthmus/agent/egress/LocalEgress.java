package io.isthmus.agent.egress;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.jboss.logging.Logger;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The VM's local egress: a plain HTTP proxy on a loopback port for apps on the VM. Each request names a mesh
 * service by Host header ({@code GET /x}, {@code Host: payments.billing.svc.clusterset.local}) or absolute URI
 * (HTTP proxy style) and is forwarded, unchanged otherwise, to the cluster gateway's egress over TLS presenting
 * the VM's current SVID; the gateway resolves the name and carries the call to the cluster that serves it, with
 * the VM's SPIFFE ID as caller. HTTP only (no CONNECT). A destination whose export declares passthrough
 * ({@code mtls}) is instead called end to end, TLS with the VM's own SVID to the workload itself
 * ({@link PassthroughRoutes}): the gateways only route it by server name.
 *
 * <p>The JDK HTTP client sets Host itself unless {@code jdk.httpclient.allowRestrictedHeaders} contains
 * {@code host}; {@link #allowHostHeader()} sets it and must run before the first JDK HTTP client is created.
 */
public final class LocalEgress implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LocalEgress.class);
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
            "expect", "date", "via", "warning");
    private static final int MAX_BODY = 16 * 1024 * 1024;

    private final HttpServer server;
    private final HttpClient client;
    private final URI gatewayEgress;
    private final ExecutorService workers;
    private final PassthroughRoutes passthrough;

    /** Lets the JDK HTTP client send the caller's Host header (the mesh name). Call before any client exists. */
    public static void allowHostHeader() {
        String current = System.getProperty("jdk.httpclient.allowRestrictedHeaders", "");
        if (!List.of(current.toLowerCase(Locale.ROOT).split(",")).contains("host")) {
            System.setProperty("jdk.httpclient.allowRestrictedHeaders", current.isBlank() ? "host" : current + ",host");
        }
    }

    private LocalEgress(HttpServer server, HttpClient client, URI gatewayEgress, ExecutorService workers,
            PassthroughRoutes passthrough) {
        this.passthrough = passthrough;
        this.server = server;
        this.client = client;
        this.gatewayEgress = gatewayEgress;
        this.workers = workers;
    }

    /**
     * @param bind the loopback address to listen on (port 0 picks one)
     * @param gatewayEgress host and port of the cluster gateway's egress
     * @param client an HTTPS client that authenticates the gateway and presents the VM's current SVID; closed with this
     */
    public static LocalEgress start(InetSocketAddress bind, InetSocketAddress gatewayEgress, HttpClient client)
            throws IOException {
        return start(bind, gatewayEgress, client, null);
    }

    /**
     * @param passthrough which destinations the VM calls end to end with its own SVID, and how; null: every request
     *     goes to the gateway egress
     */
    public static LocalEgress start(InetSocketAddress bind, InetSocketAddress gatewayEgress, HttpClient client,
            PassthroughRoutes passthrough) throws IOException {
        HttpServer server = HttpServer.create(bind, 64);
        ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
        LocalEgress egress = new LocalEgress(server, client,
                URI.create("https://" + gatewayEgress.getHostString() + ":" + gatewayEgress.getPort()), workers,
                passthrough);
        server.createContext("/", egress::forward);
        server.setExecutor(workers);
        server.start();
        LOG.infof("local egress on http://%s:%d -> gateway egress %s", bind.getHostString(), server.getAddress().getPort(),
                egress.gatewayEgress);
        return egress;
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    private void forward(HttpExchange exchange) throws IOException {
        try (exchange) {
            URI requested = exchange.getRequestURI();
            String host;
            String pathAndQuery = requested.getRawPath() == null || requested.getRawPath().isEmpty() ? "/"
                    : requested.getRawPath();
            if (requested.getRawQuery() != null) {
                pathAndQuery += "?" + requested.getRawQuery();
            }
            if (requested.isAbsolute()) {
                host = requested.getRawAuthority();
            } else {
                host = exchange.getRequestHeaders().getFirst("Host");
            }
            if (host == null || host.isBlank()) {
                reply(exchange, 400, "the request names no service: send Host: <service>.<namespace>.svc.clusterset.local"
                        + " or an absolute URI\n");
                return;
            }
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readNBytes(MAX_BODY + 1);
            }
            if (body.length > MAX_BODY) {
                reply(exchange, 413, "request body larger than " + MAX_BODY + " bytes\n");
                return;
            }
            // A destination whose export declares passthrough is called end to end: TLS with the VM's own SVID,
            // relayed undecrypted by both gateways; anything else goes to the gateway egress, which vouches for the VM.
            PassthroughChoice.Choice route = passthrough == null ? new PassthroughChoice.ViaGateway()
                    : passthrough.choose(host);
            if (route instanceof PassthroughChoice.Refused refused) {
                reply(exchange, 502, refused.detail() + "\n");
                return;
            }
            HttpClient via = client;
            URI base = gatewayEgress;
            if (route instanceof PassthroughChoice.Passthrough end) {
                via = passthrough.client(end);
                base = passthrough.base();
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(pathAndQuery))
                    .timeout(Duration.ofSeconds(30))
                    .method(exchange.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(body))
                    .header("Host", host);
            for (Map.Entry<String, List<String>> h : exchange.getRequestHeaders().entrySet()) {
                if (!HOP_BY_HOP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                    for (String v : h.getValue()) {
                        b.header(h.getKey(), v);
                    }
                }
            }
            HttpResponse<byte[]> r;
            try {
                r = via.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                reply(exchange, 502, (route instanceof PassthroughChoice.Passthrough end ? "end-to-end TLS to "
                        + end.serverName() + " via " : "") + "gateway egress " + gatewayEgress + " failed: "
                        + e.getMessage() + "\n");
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                reply(exchange, 503, "agent stopping\n");
                return;
            } catch (IllegalArgumentException e) {
                reply(exchange, 400, "cannot forward: " + e.getMessage() + "\n");
                return;
            }
            r.headers().map().forEach((k, vs) -> {
                if (!HOP_BY_HOP.contains(k.toLowerCase(Locale.ROOT)) && !k.startsWith(":")) {
                    exchange.getResponseHeaders().put(k, vs);
                }
            });
            byte[] out = r.body() == null ? new byte[0] : r.body();
            exchange.sendResponseHeaders(r.statusCode(), out.length == 0 ? -1 : out.length);
            if (out.length > 0) {
                try (OutputStream o = exchange.getResponseBody()) {
                    o.write(out);
                }
            }
        }
    }

    private static void reply(HttpExchange exchange, int status, String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, b.length);
        try (OutputStream o = exchange.getResponseBody()) {
            o.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        workers.shutdownNow();
        client.close();
        if (passthrough != null) {
            passthrough.close();
        }
    }
}
