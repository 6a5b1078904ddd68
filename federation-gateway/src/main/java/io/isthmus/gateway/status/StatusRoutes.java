package io.isthmus.gateway.status;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.vertx.http.ManagementInterface;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;

/**
 * The federation page on the management port, next to {@code /q/health} and {@code /q/metrics} and, like them,
 * read-only and unauthenticated (keep the port cluster-internal):
 *
 * <ul>
 * <li>{@code GET /federation/}: the page (three static files, no build step), which refreshes itself from</li>
 * <li>{@code GET /federation/api/status}: this gateway's {@link FederationStatus} as JSON ({@link StatusJson}), and
 * {@code /q/metrics} for request rates.</li>
 * </ul>
 *
 * The page never interprets data as markup (every value is set as text), and its Content-Security-Policy allows only
 * its own script, so a hostile value in a denial (a caller ID, a path) cannot run in an operator's browser.
 */
@ApplicationScoped
public class StatusRoutes {
    private static final Logger LOG = Logger.getLogger(StatusRoutes.class);
    static final String BASE = "/federation";
    private static final Map<String, String> PAGE = Map.of(
            "index.html", "text/html; charset=utf-8",
            "federation.js", "text/javascript; charset=utf-8",
            "federation.css", "text/css; charset=utf-8");
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
            + " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    @Inject
    StatusConfig config;

    @Inject
    StatusCollector collector;

    void register(@Observes ManagementInterface management) {
        if (!config.enabled()) {
            LOG.info("federation page disabled (isthmus.status.enabled=false)");
            return;
        }
        // Vert.x matches "/federation" for "/federation/" too: redirect only the bare path, relative links need the slash.
        management.router().get(BASE).handler(rc -> {
            if (rc.request().path().equals(BASE)) {
                rc.redirect(BASE + "/");
            } else {
                rc.next();
            }
        });
        management.router().get(BASE + "/api/status").blockingHandler(this::status, false);
        PAGE.forEach((file, type) -> {
            Buffer body = Buffer.buffer(resource(file));
            String path = file.equals("index.html") ? BASE + "/" : BASE + "/" + file;
            management.router().get(path).handler(rc -> rc.response()
                    .putHeader("Content-Type", type)
                    .putHeader("Content-Security-Policy", CSP)
                    .putHeader("X-Content-Type-Options", "nosniff")
                    .putHeader("Cache-Control", "no-cache")
                    .end(body));
        });
        LOG.infof("federation page on the management port at %s/ (status JSON at %s/api/status)", BASE, BASE);
    }

    private void status(RoutingContext rc) {
        String json;
        try {
            json = StatusJson.write(collector.collect());
        } catch (RuntimeException e) {
            LOG.warnf(e, "the federation status could not be collected");
            rc.response().setStatusCode(500).putHeader("Content-Type", "application/json")
                    .end("{\"error\":\"status-unavailable\",\"detail\":\"see the gateway log\"}");
            return;
        }
        rc.response().putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store")
                .putHeader("X-Content-Type-Options", "nosniff").end(json);
    }

    private static byte[] resource(String file) {
        try (InputStream in = StatusRoutes.class.getResourceAsStream("/federation-page/" + file)) {
            if (in == null) {
                throw new IllegalStateException("federation-page/" + file + " is missing from the gateway's classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
