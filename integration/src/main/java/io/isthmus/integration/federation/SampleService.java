package io.isthmus.integration.federation;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A backend service that answers every request with a JSON line naming itself and the caller identity the
 * ingress verified ({@code x-forwarded-client-cert}), so a caller can see who served it and as whom it was seen; it
 * remembers the last request's {@code traceparent}, to show which trace reached it.
 */
public final class SampleService implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor;
    private final AtomicLong requests = new AtomicLong();
    private volatile String lastClientCert;
    private volatile String lastTraceparent;

    private SampleService(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    public static SampleService start(String host, int port, String cluster, String service) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 128);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        SampleService sample = new SampleService(server, executor);
        server.createContext("/", exchange -> sample.answer(exchange, cluster, service));
        server.setExecutor(executor);
        server.start();
        return sample;
    }

    private void answer(HttpExchange exchange, String cluster, String service) throws IOException {
        try (exchange) {
            exchange.getRequestBody().readAllBytes();
            requests.incrementAndGet();
            String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
            lastClientCert = xfcc;
            lastTraceparent = exchange.getRequestHeaders().getFirst("traceparent");
            String body = "{\"cluster\":\"" + cluster + "\",\"service\":\"" + service + "\",\"method\":\""
                    + exchange.getRequestMethod() + "\",\"path\":\"" + json(exchange.getRequestURI().getRawPath())
                    + "\",\"caller\":\"" + json(callerOf(xfcc).orElse("")) + "\",\"xfcc\":\"" + json(xfcc == null ? "" : xfcc)
                    + "\"}\n";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("content-type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** Runs one sample service until killed: {@code SampleService <host> <port> <cluster> <service>}. */
    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: SampleService <host> <port> <cluster> <service>");
            System.exit(2);
        }
        start(args[0], Integer.parseInt(args[1]), args[2], args[3]);
        System.out.println("sample service " + args[3] + " of " + args[2] + " on " + args[0] + ":" + args[1]);
        Thread.currentThread().join();
    }

    /** The {@code URI=} element of an Envoy-style {@code x-forwarded-client-cert} header. */
    public static Optional<String> callerOf(String xfcc) {
        if (xfcc == null) {
            return Optional.empty();
        }
        for (String part : xfcc.split(";")) {
            String p = part.trim();
            if (p.startsWith("URI=")) {
                return Optional.of(p.substring(4));
            }
        }
        return Optional.empty();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public long requests() {
        return requests.get();
    }

    public Optional<String> lastClientCert() {
        return Optional.ofNullable(lastClientCert);
    }

    /** The W3C {@code traceparent} of the last request, as it reached this backend. */
    public Optional<String> lastTraceparent() {
        return Optional.ofNullable(lastTraceparent);
    }

    private static String json(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
