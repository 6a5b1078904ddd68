package io.isthmus.gateway.proxy;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import com.sun.net.httpserver.HttpServer;

import io.isthmus.trust.testing.FreePorts;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A local HTTP backend for {@code echo.demo.svc.clusterset.local} that echoes the identity header it received, and
 * the gateway configured to route that name to its own ingress (a static route: one gateway plays both ends), with
 * a policy file of its own that lets {@link #CHECKOUT} (only) call echo.
 */
public class EchoBackendResource implements QuarkusTestResourceLifecycleManager {
    static final String ECHO = "echo.demo.svc.clusterset.local";
    static final String CHECKOUT = "spiffe://test.isthmus.local/ns/shop/sa/checkout";
    private HttpServer backend;

    @Override
    public Map<String, String> start() {
        Path policy;
        try {
            backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            policy = Files.createDirectories(Path.of("target/test-proxy")).resolve("policies.yaml");
            Files.writeString(policy, """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: echo-from-checkout, namespace: demo}
                    spec:
                      action: ALLOW
                      selector: {services: [echo]}
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                    """.formatted(CHECKOUT));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
        return Map.of("isthmus.authz.policy-file", policy.toAbsolutePath().toString(),
                "isthmus.proxy.ingress.port", Integer.toString(ingress),
                "isthmus.proxy.backends.\"" + ECHO + "\"", "127.0.0.1:" + backend.getAddress().getPort(),
                "isthmus.proxy.routes.\"" + ECHO + "\"", "127.0.0.1:" + ingress,
                "isthmus.registry.ingress-address", "127.0.0.1:" + ingress,
                "isthmus.registry.static-exports.echo.namespace", "demo",
                "isthmus.registry.static-exports.echo.ports", "http:80",
                // Low, so that GatewayProxyTest can flood each listener past it with a few sockets.
                "isthmus.proxy.ingress.max-connections-per-client", "8",
                "isthmus.proxy.egress.max-connections-per-client", "8");
    }

    @Override
    public void stop() {
        if (backend != null) {
            backend.stop(0);
        }
    }
}
