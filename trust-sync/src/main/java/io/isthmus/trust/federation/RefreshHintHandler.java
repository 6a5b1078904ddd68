package io.isthmus.trust.federation;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import io.isthmus.trust.bundle.JwtAuthority;

/**
 * Serves {@link RefreshHint#PATH} on the bundle endpoint: {@code POST ?trust_domain=<peer>} makes this gateway pull
 * that peer's bundle now ({@link PeerBundleSync#hint}), and answers what it holds of that peer (sequence and JWT key
 * IDs), 202, or 429 with {@code Retry-After} when throttled. The request body is read and ignored: whatever a hint
 * says about keys has no effect. Anyone may send one (no client authentication, as for the bundle itself); the
 * answer is trustworthy to the hinting peer because it comes over TLS authenticated by this gateway's SVID.
 */
public final class RefreshHintHandler implements HttpHandler {
    private static final Logger LOG = Logger.getLogger(RefreshHintHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BODY = 4096;

    private final Function<String, PeerBundleSync.HintAnswer> hints;

    public RefreshHintHandler(Function<String, PeerBundleSync.HintAnswer> hints) {
        this.hints = hints;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            try (InputStream body = exchange.getRequestBody()) {
                body.readNBytes(MAX_BODY);
            }
            if (!RefreshHint.PATH.equals(exchange.getRequestURI().getPath())) {
                BundleEndpointServer.reply(exchange, 404, error("not-found", "the refresh hint is served at " + RefreshHint.PATH));
                return;
            }
            if (!"POST".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().add("Allow", "POST");
                BundleEndpointServer.reply(exchange, 405, error("method-not-allowed", "use POST " + RefreshHint.PATH + "?trust_domain=<td>"));
                return;
            }
            PeerBundleSync.HintAnswer answer = hints.apply(trustDomainParam(exchange.getRequestURI().getRawQuery()));
            switch (answer.verdict()) {
                case RefreshHint.Verdict.Refused r -> BundleEndpointServer.reply(exchange, r.reason().status(), error(r.reason().code(),
                        r.detail()));
                case RefreshHint.Verdict.Pull p -> BundleEndpointServer.reply(exchange, 202, held(p.peer().name(), "scheduled", answer));
                case RefreshHint.Verdict.Throttled t -> {
                    exchange.getResponseHeaders().add("Retry-After",
                            Long.toString(Math.max(1, (t.retryAfter().toMillis() + 999) / 1000)));
                    BundleEndpointServer.reply(exchange, 429, held(t.peer().name(), "throttled", answer));
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("answering a bundle refresh hint failed: %s", e.toString());
        }
    }

    private static String trustDomainParam(String rawQuery) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals("trust_domain")) {
                return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static String held(String td, String pull, PeerBundleSync.HintAnswer answer) {
        ObjectNode n = JSON.createObjectNode();
        n.put("trust_domain", td);
        n.put("pull", pull);
        answer.held().ifPresentOrElse(b -> n.put("sequence", b.sequence()), () -> n.putNull("sequence"));
        var kids = n.putArray("jwt_key_ids");
        answer.held().ifPresent(b -> b.jwtAuthorities().stream().map(JwtAuthority::keyId).forEach(kids::add));
        return n.toString();
    }

    private static String error(String code, String detail) {
        return JSON.createObjectNode().put("error", code).put("detail", detail).toString();
    }
}
