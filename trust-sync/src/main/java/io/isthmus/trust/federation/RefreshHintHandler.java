package io.isthmus.trust.federation;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.endpoint.EndpointAnswer;
import io.isthmus.trust.endpoint.EndpointRequest;
import io.isthmus.trust.endpoint.EndpointRoute;

/**
 * Serves {@link RefreshHint#PATH} on the bundle endpoint: {@code POST ?trust_domain=<peer>} makes this gateway pull
 * that peer's bundle now ({@link PeerBundleSync#hint}), and answers what it holds of that peer (sequence and JWT key
 * IDs), 202, or 429 with {@code Retry-After} when throttled. The request body is ignored: whatever a hint
 * says about keys has no effect. Anyone may send one (no client authentication, as for the bundle itself); the
 * answer is trustworthy to the hinting peer because it comes over TLS authenticated by this gateway's SVID.
 */
public final class RefreshHintHandler implements EndpointRoute {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Function<String, PeerBundleSync.HintAnswer> hints;

    public RefreshHintHandler(Function<String, PeerBundleSync.HintAnswer> hints) {
        this.hints = hints;
    }

    @Override
    public EndpointAnswer answer(EndpointRequest request) {
        // The body (bounded by the server) is ignored.
        if (!RefreshHint.PATH.equals(request.path())) {
            return EndpointAnswer.json(404, error("not-found", "the refresh hint is served at " + RefreshHint.PATH));
        }
        if (!"POST".equals(request.method())) {
            return EndpointAnswer.json(405, error("method-not-allowed", "use POST " + RefreshHint.PATH
                    + "?trust_domain=<td>")).withHeader("Allow", "POST");
        }
        PeerBundleSync.HintAnswer answer = hints.apply(trustDomainParam(request.rawQuery().orElse(null)));
        return switch (answer.verdict()) {
            case RefreshHint.Verdict.Refused r -> EndpointAnswer.json(r.reason().status(), error(r.reason().code(),
                    r.detail()));
            case RefreshHint.Verdict.Pull p -> EndpointAnswer.json(202, held(p.peer().name(), "scheduled", answer));
            case RefreshHint.Verdict.Throttled t -> EndpointAnswer.json(429, held(t.peer().name(), "throttled", answer))
                    .withHeader("Retry-After", Long.toString(Math.max(1, (t.retryAfter().toMillis() + 999) / 1000)));
        };
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
