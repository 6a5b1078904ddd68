package io.isthmus.gateway.authz;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DecisionLog;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The beans the data plane injects, as the gateway produces them: the Authorizer follows the policy file
 * ({@code %test.isthmus.authz.policy-file}), the DecisionLog writes the audit file and metrics, and without a
 * Kubernetes API server the TokenAuthenticator refuses rather than accepts.
 */
@QuarkusTest
class AuthzWiringTest {
    static final AccessRequest CHECKOUT = AccessRequest.http(
            SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout"), MeshName.of("payments", "billing"), 8080,
            "POST", "/v1/pay").viaGateway(SpiffeId.parse("spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway"));

    @Inject
    Authorizer authorizer;
    @Inject
    DecisionLog decisionLog;
    @Inject
    TokenAuthenticator tokens;
    @Inject
    AuthzService service;

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    @TestHTTPResource(value = "/health/group/authz", management = true)
    URL health;

    @Test
    void authorizerFollowsThePolicyFileAndDecisionsAreAudited() throws IOException {
        Path file = service.config().policyFile().orElseThrow();
        Files.createDirectories(file.toAbsolutePath().getParent());
        write(file, "");
        await().atMost(Duration.ofSeconds(30)).until(() -> !authorizer.authorize(CHECKOUT).allowed()
                && service.statuses().get("file") != null && !service.statuses().get("file").degraded());

        write(file, """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: allow-checkout, namespace: billing}
                spec:
                  rules:
                  - from: [{source: {principals: ["*/sa/checkout"]}}]
                """);
        await().atMost(Duration.ofSeconds(30)).until(() -> authorizer.authorize(CHECKOUT).allowed());

        write(file, "apiVersion: security.isthmus.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: "
                + "{name: x, namespace: billing}\nspec: {action: PERMIT}\n");
        await().atMost(Duration.ofSeconds(30)).until(() -> service.statuses().get("file").degraded());
        assertThat(authorizer.authorize(CHECKOUT).allowed()).as("previous policies kept").isTrue();

        Path audit = service.config().auditLog().path().orElseThrow();
        long before = Files.exists(audit) ? Files.readAllLines(audit).size() : 0;
        Decision d = authorizer.authorize(CHECKOUT);
        decisionLog.record(CHECKOUT, d);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readAllLines(audit).size() > before);
        List<String> lines = Files.readAllLines(audit);
        JsonNode last = new ObjectMapper().readTree(lines.get(lines.size() - 1));
        assertThat(last.get("decision").asText()).isEqualTo("allow");
        assertThat(last.get("policy").asText()).isEqualTo("billing/allow-checkout");
        assertThat(last.get("peer_gateway").asText()).endsWith("/sa/isthmus-gateway");

        given().when().get(health).then().statusCode(503)
                .body(containsString("spec.action: \\\"PERMIT\\\" is not an action"));
        given().when().get(metrics).then().statusCode(200)
                .body(containsString("isthmus_authz_decisions_total{decision=\"allow\",reason=\"allowed\"}"))
                .body(containsString("isthmus_authz_policies{source=\"file\"} 1.0"))
                .body(containsString("isthmus_authz_policies_rejected{source=\"file\"} 1.0"));
    }

    /** Atomically, as a ConfigMap volume update does. */
    static void write(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void withoutKubernetesTokensAreRefusedNeverAccepted() throws Exception {
        AuthnResult r = tokens.authenticate("some-token").toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(r).isInstanceOfSatisfying(AuthnResult.Refused.class,
                x -> assertThat(x.reason()).isEqualTo(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE));
    }
}
