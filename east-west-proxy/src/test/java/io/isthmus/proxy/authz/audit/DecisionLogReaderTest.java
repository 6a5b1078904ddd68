package io.isthmus.proxy.authz.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Reading decision logs back, as an attacker or an accident may have left them: every line either becomes a
 * checked record or is refused with its typed problem and a message that quotes it; a refused line never stops the
 * lines after it.
 */
class DecisionLogReaderTest {
    static final Instant T = Instant.parse("2026-11-23T10:00:00.123Z");
    static final SpiffeId CART = SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/cart");
    static final SpiffeId GATEWAY_A = SpiffeId.parse("spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
    static final MeshName PAYMENTS = MeshName.of("payments", "billing");
    static final ClusterNames CLUSTERS = ClusterNames.of(Map.of(new TrustDomain("a.acme.internal"), "alpha"));

    /** An allowed HTTP request, as a gateway of cluster gamma logs it. */
    static final String HTTP = JsonDecisionLog.toJson(T,
            AccessRequest.http(CART, PAYMENTS, 80, "GET", "/orders/7").viaGateway(GATEWAY_A),
            new Decision.Allowed("billing/allow-cart", "rules[0]", List.of()), Optional.of("gamma"), CLUSTERS);
    static final String TCP = JsonDecisionLog.toJson(T, AccessRequest.tcp(CART, PAYMENTS, 5432),
            new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "", "no ALLOW policy", List.of()));
    static final String OBSERVED = JsonDecisionLog.toJson(T,
            AccessRequest.http(CART, PAYMENTS, 80, "DELETE", "/orders/7"),
            new Decision.Allowed("billing/observe", Decision.OBSERVE_RULE, List.of(),
                    Optional.of(new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "", "none", List.of())),
                    Optional.of(new Decision.Denied(DenyReason.EXPLICIT_DENY, "billing/no-delete", "rules[0]", "d",
                            List.of()))), Optional.of("gamma"), CLUSTERS);

    static Stream<Arguments> lines() {
        return Stream.of(
                row("an HTTP line", HTTP, null, ""),
                row("a TCP line", TCP, null, ""),
                row("an observe-mode line with a dry-run verdict", OBSERVED, null, ""),
                row("a field this version does not know is ignored (fields may be added within a version)",
                        HTTP.replace("{\"version\":1,", "{\"version\":1,\"trace_id\":\"abc\","), null, ""),
                row("cut in the middle", HTTP.substring(0, HTTP.length() / 2), LogLineProblem.TRUNCATED,
                        "the line ends inside its JSON object"),
                row("cut before its last brace", HTTP.substring(0, HTTP.length() - 1), LogLineProblem.TRUNCATED, ""),
                row("only an opening brace", "{", LogLineProblem.TRUNCATED, ""),
                row("not JSON", "GET /orders/7 200", LogLineProblem.NOT_JSON, "not JSON"),
                row("JSON then something else", HTTP + " x", LogLineProblem.NOT_JSON, ""),
                row("two lines glued together", HTTP + HTTP, LogLineProblem.NOT_JSON, ""),
                row("a list", "[1,2]", LogLineProblem.NOT_AN_OBJECT, "expected a JSON object, got \"[1,2]\""),
                row("a string", "\"version\"", LogLineProblem.NOT_AN_OBJECT, ""),
                row("no version at all", HTTP.replace("\"version\":1,", ""), LogLineProblem.MISSING_VERSION,
                        "no \"version\" field: not a line of a decision log of version 1"),
                row("a forged newer version", HTTP.replace("\"version\":1,", "\"version\":2,"),
                        LogLineProblem.UNSUPPORTED_VERSION, "\"version\":2 is newer than the version this isthmus "
                                + "reads (1): upgrade the isthmus CLI"),
                row("version 0", HTTP.replace("\"version\":1,", "\"version\":0,"), LogLineProblem.UNSUPPORTED_VERSION,
                        "\"version\":0 was never written by a gateway"),
                row("version -1", HTTP.replace("\"version\":1,", "\"version\":-1,"),
                        LogLineProblem.UNSUPPORTED_VERSION, ""),
                row("version as a string", HTTP.replace("\"version\":1,", "\"version\":\"1\","),
                        LogLineProblem.UNSUPPORTED_VERSION, "\"version\" is \"\"1\"\", not a version number"),
                row("version 1.0", HTTP.replace("\"version\":1,", "\"version\":1.0,"),
                        LogLineProblem.UNSUPPORTED_VERSION, ""),
                row("a huge version", HTTP.replace("\"version\":1,", "\"version\":99999999999999999999999,"),
                        LogLineProblem.UNSUPPORTED_VERSION, ""),
                row("version null", HTTP.replace("\"version\":1,", "\"version\":null,"),
                        LogLineProblem.UNSUPPORTED_VERSION, ""),
                row("a second version field", HTTP.replace("\"version\":1,", "\"version\":1,\"version\":2,"),
                        LogLineProblem.DUPLICATE_FIELD, "Duplicate field 'version'"),
                row("a second decision appended by a forger", HTTP.replace("\"mode\"", "\"decision\":\"deny\",\"mode\""),
                        LogLineProblem.DUPLICATE_FIELD, "a gateway writes each field once"),
                row("a caller of another trust domain than stated",
                        HTTP.replace("\"caller_trust_domain\":\"a.acme.internal\"",
                                "\"caller_trust_domain\":\"b.acme.internal\""),
                        LogLineProblem.INCONSISTENT, "is not the trust domain of the caller"),
                row("a caller that is not a SPIFFE ID", HTTP.replace(CART.toString(), "cart@shop"),
                        LogLineProblem.INVALID_FIELD, "\"caller\" \"cart@shop\" is not a SPIFFE ID"),
                row("a caller with a control character", HTTP.replace(CART.toString(), CART + "\\u0000"),
                        LogLineProblem.INVALID_FIELD, "\\u0000"),
                row("a destination of another service", HTTP.replace("\"service\":\"payments\"",
                        "\"service\":\"ledger\""), LogLineProblem.INCONSISTENT, "is not \"ledger.billing.<suffix>\""),
                row("a port out of range", HTTP.replace("\"port\":80", "\"port\":70000"),
                        LogLineProblem.INVALID_FIELD, "\"port\" \"70000\" is not a port number"),
                row("a port as text", HTTP.replace("\"port\":80", "\"port\":\"80\""), LogLineProblem.INVALID_FIELD, ""),
                row("no port", HTTP.replace("\"port\":80,", ""), LogLineProblem.MISSING_FIELD, "no \"port\""),
                row("a TCP line with a path", TCP.replace("\"protocol\":\"tcp\"",
                        "\"protocol\":\"tcp\",\"path\":\"/admin\""), LogLineProblem.INCONSISTENT, ""),
                row("an HTTP line without a method", HTTP.replace("\"method\":\"GET\",", ""),
                        LogLineProblem.MISSING_FIELD, "needs \"method\" and \"path\""),
                row("a method that is not one", HTTP.replace("\"method\":\"GET\"", "\"method\":\"get me\""),
                        LogLineProblem.INVALID_FIELD, "is not an HTTP method"),
                row("a path with a query", HTTP.replace("/orders/7", "/orders/7?token=x"),
                        LogLineProblem.INVALID_FIELD, "without query or fragment"),
                row("a path that is not absolute", HTTP.replace("/orders/7", "orders/7"),
                        LogLineProblem.INVALID_FIELD, "does not start with '/'"),
                row("a path with a non-ASCII character", HTTP.replace("/orders/7", "/orders/\u00e9"),
                        LogLineProblem.INVALID_FIELD, "U+00E9 at 8"),
                row("a path with a line separator", HTTP.replace("/orders/7", "/orders/\\u2028x"),
                        LogLineProblem.INVALID_FIELD, "U+2028"),
                row("an unknown decision", HTTP.replace("\"decision\":\"allow\"", "\"decision\":\"maybe\""),
                        LogLineProblem.INVALID_FIELD, "\"decision\" \"maybe\" is not one of allow, deny"),
                row("a deny with the allow reason", HTTP.replace("\"decision\":\"allow\"", "\"decision\":\"deny\""),
                        LogLineProblem.INVALID_FIELD, "\"reason\" \"allowed\" is not a reason of a deny"),
                row("an unknown deny reason", TCP.replace("no-matching-allow", "because"),
                        LogLineProblem.INVALID_FIELD, ""),
                row("observe mode without the observed verdict", OBSERVED.replaceAll("\"observed\":\\{[^}]*},", ""),
                        LogLineProblem.INCONSISTENT, "without the \"observed\" verdict"),
                row("an observed verdict in enforce mode", OBSERVED.replace("\"mode\":\"observe\"",
                        "\"mode\":\"enforce\""), LogLineProblem.INCONSISTENT, ""),
                row("an observe-mode deny", OBSERVED.replaceFirst("\"decision\":\"allow\",\"reason\":\"allowed\"",
                        "\"decision\":\"deny\",\"reason\":\"explicit-deny\""), LogLineProblem.INCONSISTENT,
                        "observe mode never denies"),
                row("an observed verdict that is not an object", OBSERVED.replaceAll("\"observed\":\\{[^}]*}",
                        "\"observed\":\"deny\""), LogLineProblem.INVALID_FIELD, "expected an object or null"),
                row("a time that is not one", HTTP.replace(T.toString(), "yesterday"), LogLineProblem.INVALID_FIELD,
                        "\"time\" \"yesterday\" is not an ISO-8601 UTC instant"),
                row("a rule without a policy", TCP.replace("\"rule\":null", "\"rule\":\"rules[0]\""),
                        LogLineProblem.INCONSISTENT, "\"rule\" without a policy"),
                row("a cluster name with a space", HTTP.replace("\"gamma\"", "\"gam ma\""),
                        LogLineProblem.INVALID_FIELD, "is not a cluster name"));
    }

    static Arguments row(String name, String line, LogLineProblem problem, String message) {
        return Arguments.of(name, line, problem, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lines")
    void readsOrRefusesEachLine(String name, String line, LogLineProblem problem, String message) {
        DecisionLogReader.LineResult r = DecisionLogReader.parse(line);
        if (problem == null) {
            assertThat(r).as(line).isInstanceOf(DecisionLogReader.LineResult.Read.class);
            return;
        }
        assertThat(r).as(line).isInstanceOfSatisfying(DecisionLogReader.LineResult.Refused.class, no -> {
            assertThat(no.problem()).isEqualTo(problem);
            assertThat(no.message()).contains(message);
        });
    }

    @Test
    void readsBackWhatTheGatewayWrites() {
        DecisionRecord http = ((DecisionLogReader.LineResult.Read) DecisionLogReader.parse(HTTP)).record();
        assertThat(http.time()).isEqualTo(T);
        assertThat(http.caller()).isEqualTo(CART);
        assertThat(http.peerGateway()).contains(GATEWAY_A);
        assertThat(http.sourceCluster()).contains("alpha");
        assertThat(http.destinationCluster()).contains("gamma");
        assertThat(http.destination()).isEqualTo(PAYMENTS);
        assertThat(http.port()).isEqualTo(80);
        assertThat(http.method()).contains("GET");
        assertThat(http.path()).contains("/orders/7");
        assertThat(http.verdict()).isEqualTo(new DecisionRecord.Verdict(true, "allowed",
                Optional.of("billing/allow-cart"), Optional.of("rules[0]")));
        assertThat(http.observing()).isFalse();
        assertThat(http.toAccessRequest()).isEqualTo(AccessRequest.http(CART, PAYMENTS, 80, "GET", "/orders/7")
                .viaGateway(GATEWAY_A));

        DecisionRecord tcp = ((DecisionLogReader.LineResult.Read) DecisionLogReader.parse(TCP)).record();
        assertThat(tcp.tcp()).isTrue();
        assertThat(tcp.served()).isFalse();
        assertThat(tcp.refusedBeforePolicy()).isFalse();
        assertThat(tcp.verdict().policy()).isEmpty();
        assertThat(tcp.sourceCluster()).isEmpty();

        DecisionRecord observed = ((DecisionLogReader.LineResult.Read) DecisionLogReader.parse(OBSERVED)).record();
        assertThat(observed.observing()).isTrue();
        assertThat(observed.served()).isTrue();
        assertThat(observed.observed()).contains(new DecisionRecord.Verdict(false, "no-matching-allow",
                Optional.empty(), Optional.empty()));
        assertThat(observed.dryRun()).contains(new DecisionRecord.Verdict(false, "explicit-deny",
                Optional.of("billing/no-delete"), Optional.of("rules[0]")));

        String vouching = JsonDecisionLog.toJson(T, AccessRequest.http(CART, PAYMENTS, 80, "GET", "/"),
                new Decision.Denied(DenyReason.VOUCHING_BY_NON_GATEWAY, "", "", "a VM asserted a caller", List.of()));
        assertThat(((DecisionLogReader.LineResult.Read) DecisionLogReader.parse(vouching)).record()
                .refusedBeforePolicy()).isTrue();
    }

    /** A file with a forged line among good ones: the forged line is refused by number, the rest is read. */
    @Test
    void aRefusedLineNeverStopsTheRest() throws IOException {
        String tooLong = "{\"version\":1,\"x\":\"" + "a".repeat(DecisionLogFormat.MAX_LINE_CHARS) + "\"}";
        String file = String.join("\n", HTTP, HTTP.replace("\"version\":1,", "\"version\":7,"),
                HTTP.substring(0, 40), "", TCP, tooLong, OBSERVED + "\r") + "\n";
        List<DecisionRecord> records = new ArrayList<>();
        List<DecisionLogReader.RefusedLine> refused = new ArrayList<>();
        DecisionLogReader.Stats stats = DecisionLogReader.read(new StringReader(file), "gamma/audit.jsonl",
                records::add, refused::add);
        assertThat(records).hasSize(3);
        assertThat(records).map(DecisionRecord::port).containsExactly(80, 5432, 80);
        assertThat(refused).map(DecisionLogReader.RefusedLine::line).containsExactly(2L, 3L, 6L);
        assertThat(refused).map(DecisionLogReader.RefusedLine::problem).containsExactly(
                LogLineProblem.UNSUPPORTED_VERSION, LogLineProblem.TRUNCATED, LogLineProblem.TOO_LONG);
        assertThat(refused.get(0).toString()).startsWith("gamma/audit.jsonl:2: unsupported-version: "
                + "\"version\":7 is newer than the version this isthmus reads (1)");
        assertThat(stats).isEqualTo(new DecisionLogReader.Stats(7, 3, 3));
    }

    @Test
    void aLastLineWithoutNewlineIsRead() throws IOException {
        List<DecisionRecord> records = new ArrayList<>();
        DecisionLogReader.read(new StringReader(HTTP + "\n" + TCP), "f", records::add, r -> {
        });
        assertThat(records).hasSize(2);
    }

    @Test
    void quotesInputWithControlCharactersEscapedAndCut() {
        assertThat(DecisionLogReader.quote("a\u0000b\u001b")).isEqualTo("\"a\\u0000b\\u001b\"");
        assertThat(DecisionLogReader.quote("x".repeat(100))).endsWith("\" (100 characters, cut)");
    }
}
