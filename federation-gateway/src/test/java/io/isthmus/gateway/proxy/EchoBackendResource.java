package io.isthmus.gateway.proxy;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.sun.net.httpserver.HttpServer;

import io.isthmus.trust.testing.FreePorts;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A local HTTP backend for {@code echo.demo.svc.clusterset.local} that echoes the identity header it received, and
 * the gateway configured to route that name to its own ingress (a static route: one gateway plays both ends).
 */
public class EchoBackendResource implements QuarkusTestResourceLifecycleManager {
    static final String ECHO = "echo.demo.svc.clusterset.local";
    private HttpServer backend;

    @Override
    public Map<String, String> start() {
        try {
            backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        backend.createContext("/", exchange -> {
            byte[] body = ("xfcc=" + exchange.getRequestHeaders().getFirst("x-forwarded-client-cert") + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        backend.start();
        int ingress = FreePorts.next();
        // The registry routes the egress: echo is a static export of this cluster, reached through its own ingress.
        return Map.of("isthmus.proxy.ingress.port", Integer.toString(ingress),
                "isthmus.proxy.backends.\"" + ECHO + "\"", "127.0.0.1:" + backend.getAddress().getPort(),
                "isthmus.proxy.routes.\"" + ECHO + "\"", "127.0.0.1:" + ingress,
                "isthmus.registry.ingress-address", "127.0.0.1:" + ingress,
                "isthmus.registry.static-exports.echo.namespace", "demo",
                "isthmus.registry.static-exports.echo.ports", "http:80");
    }

    @Override
    public void stop() {
        if (backend != null) {
            backend.stop(0);
        }
    }
}
