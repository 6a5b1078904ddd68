package io.isthmus.trust.federation;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import org.jboss.logging.Logger;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.tls.SvidSource;
import io.isthmus.trust.tls.TlsContexts;

/**
 * The SPIFFE bundle endpoint ({@code https_spiffe} profile): {@code GET /} returns this trust domain's bundle
 * as JSON, over TLS with this gateway's current SVID. No client authentication: bundles are public, and peers
 * authenticate the server, not the other way round. The JDK's HTTPS server is enough for a few polls a minute.
 */
public final class BundleEndpointServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BundleEndpointServer.class);

    /**
     * Every answer states the serving gateway's time, from the clock it uses for certificates and leases, to the
     * millisecond (ISO-8601), so that peers can measure clock skew: the JDK server's {@code Date} has whole seconds
     * from the JVM's clock.
     */
    public static final String TIME_HEADER = "Isthmus-Time";

    private final HttpsServer server;
    private final ExecutorService executor;

    private BundleEndpointServer(HttpsServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Binds and starts serving the bundle only. Port 0 picks a free port; see {@link #address()}. */
    public static BundleEndpointServer start(InetSocketAddress bind, SvidSource svids, Supplier<TrustBundle> bundle,
            BundleCodec codec) throws IOException {
        return start(bind, svids, bundle, codec, null, Clock.systemUTC());
    }

    /**
     * Binds and starts serving the bundle at {@code /} and, when {@code status} is given, this gateway's trust status
     * (JSON) at {@link BundleEndpointClient#STATUS_PATH}: what it holds is public, like the bundle; what makes the
     * answer trustworthy is the TLS server authentication by this gateway's SVID. Every answer states {@code clock}'s
     * time in {@link #TIME_HEADER}.
     */
    public static BundleEndpointServer start(InetSocketAddress bind, SvidSource svids, Supplier<TrustBundle> bundle,
            BundleCodec codec, Supplier<String> status, Clock clock) throws IOException {
        SSLContext tls = TlsContexts.create(svids, null);
        HttpsServer server = HttpsServer.create(bind, 16);
        server.setHttpsConfigurator(new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = tls.getDefaultSSLParameters();
                p.setProtocols(TlsContexts.PROTOCOLS);
                p.setNeedClientAuth(false);
                p.setWantClientAuth(false);
                params.setSSLParameters(p);
            }
        });
        server.createContext("/", exchange -> {
            exchange.getResponseHeaders().set(TIME_HEADER, clock.instant().truncatedTo(ChronoUnit.MILLIS).toString());
            handle(exchange, bundle, codec, status);
        });
        // One virtual thread per exchange: the JDK server does blocking work per connection before any of ours runs
        // (a reverse DNS lookup of the client's address, then the TLS handshake), so on a small fixed pool a few
        // clients whose lookups hang, or who stall their handshake, kept every peer's bundle fetch waiting.
        ExecutorService executor = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("isthmus-bundle-endpoint-", 0).factory());
        server.setExecutor(executor);
        server.start();
        LOG.infof("SPIFFE bundle endpoint listening on https://%s:%d/", bind.getHostString(), server.getAddress().getPort());
        return new BundleEndpointServer(server, executor);
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** Serves {@code handler} at {@code path} too (e.g. the membership document), on the same TLS and threads. */
    public void serve(String path, com.sun.net.httpserver.HttpHandler handler) {
        server.createContext(path, handler);
    }

    private static void handle(HttpExchange exchange, Supplier<TrustBundle> bundle, BundleCodec codec,
            Supplier<String> status) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            boolean statusPath = status != null && BundleEndpointClient.STATUS_PATH.equals(path);
            if (!"/".equals(path) && !statusPath) {
                reply(exchange, 404, "{\"error\":\"not-found\",\"detail\":\"the bundle is served at /\"}");
                return;
            }
            if (!"GET".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().add("Allow", "GET");
                reply(exchange, 405, "{\"error\":\"method-not-allowed\",\"detail\":\"use GET\"}");
                return;
            }
            reply(exchange, 200, statusPath ? status.get() : codec.toJson(bundle.get()));
        } catch (RuntimeException e) {
            LOG.errorf(e, "bundle endpoint failed to answer");
        }
    }

    /** A JSON answer that no cache keeps (bundle, status, refresh hint). */
    static void reply(HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.getResponseHeaders().add("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
