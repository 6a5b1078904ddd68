package io.isthmus.gateway.enrolment;

import static io.isthmus.gateway.enrolment.TestClients.JSON;
import static io.isthmus.gateway.enrolment.TestClients.client;
import static io.isthmus.gateway.enrolment.TestClients.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.gateway.authz.AuthzService;
import io.isthmus.gateway.enrolment.TestClients.Reply;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * {@code POST /v1/admin/authz/explain} over real TLS: an admin learns what the live policy file decides, with the path
 * as the ingress normalizes it; a caller without admin credentials (anonymous, a wrong token, a workload SVID) learns
 * nothing about the policy.
 */
@QuarkusTest
class AuthzExplainApiTest {
    private static final String ADMIN_TOKEN = "test-bootstrap-admin-token-0123456789abcdef";
    private static final String CHECKOUT = "spiffe://a.acme.internal/ns/shop/sa/checkout";

    @Inject
    TrustService trust;

    @Inject
    AuthzService authz;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    private HttpClient anonymous;

    @BeforeEach
    void setUp() throws IOException {
        Files.writeString(Path.of("target/test-admin-token"), ADMIN_TOKEN + "\n", StandardCharsets.UTF_8);
        anonymous = client(trust.runtime(), null);
        Path file = authz.config().policyFile().orElseThrow();
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: pay, namespace: billing}
                spec:
                  rules:
                  - from: [{source: {principals: ["%s"]}}]
                    to: [{operation: {methods: ["POST"], paths: ["/v1/pay*"]}}]
                """.formatted(CHECKOUT));
        await().atMost(Duration.ofSeconds(30)).until(() -> authz.statuses().get("file") != null
                && authz.statuses().get("file").policies() == 1 && !authz.statuses().get("file").degraded());
    }

    private URI uri() {
        return URI.create(https.toString().replaceAll("/$", "") + "/v1/admin/authz/explain");
    }

    private static String body(String caller, String method, String path) {
        return JSON.createObjectNode().put("caller", caller).put("to", "payments.billing").put("port", 8080)
                .put("method", method).put("path", path).toString();
    }

    @Test
    void anAdminLearnsTheDecidingRuleAndTheNormalizedPath() {
        Reply allowed = post(anonymous, uri(), body(CHECKOUT, "POST", "/v1/./pay/%63harge"), ADMIN_TOKEN);
        assertThat(allowed.status()).as(allowed.body().toString()).isEqualTo(200);
        assertThat(allowed.body().path("outcome").asText()).isEqualTo("allow");
        assertThat(allowed.body().path("policy").asText()).isEqualTo("billing/pay");
        assertThat(allowed.body().path("normalizedPath").asText()).isEqualTo("/v1/pay/charge");
        assertThat(allowed.body().path("servedHere").asBoolean()).as("payments is a static export here").isTrue();

        Reply denied = post(anonymous, uri(), body("spiffe://a.acme.internal/ns/shop/sa/cart", "POST", "/v1/pay"),
                ADMIN_TOKEN);
        assertThat(denied.body().path("outcome").asText()).isEqualTo("deny");
        assertThat(denied.body().path("status").asInt()).isEqualTo(403);
        assertThat(denied.body().path("reason").asText()).isEqualTo("no-matching-allow");

        Reply refused = post(anonymous, uri(), body(CHECKOUT, "POST", "/v1/pay%2f..%2fadmin"), ADMIN_TOKEN);
        assertThat(refused.body().path("outcome").asText()).isEqualTo("refused");
        assertThat(refused.body().path("reason").asText()).isEqualTo("path-encoded-slash");
    }

    @Test
    void badFieldsAreRefusedNamingThem() {
        Reply r = post(anonymous, uri(), JSON.createObjectNode().put("caller", "checkout").put("to", "payments.billing")
                .toString(), ADMIN_TOKEN);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body().path("detail").asText()).contains("caller 'checkout' is not a SPIFFE ID");
        Reply port = post(anonymous, uri(), JSON.createObjectNode().put("caller", CHECKOUT).put("to", "payments.billing")
                .put("port", "eighty").toString(), ADMIN_TOKEN);
        assertThat(port.status()).isEqualTo(400);
        assertThat(port.body().path("detail").asText()).contains("port must be an integer");
    }

    @Test
    void withoutAdminCredentialsNothingAboutThePolicyIsTold() {
        String b = body(CHECKOUT, "POST", "/v1/pay");
        Reply none = post(anonymous, uri(), b, null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.code()).isEqualTo("admin-unauthenticated");
        assertThat(none.raw().body()).doesNotContain("billing/pay");
        assertThat(post(anonymous, uri(), b, "not-the-token").status()).isEqualTo(401);
        X509Svid workload = trust.runtime().ca().issue(SpiffeId.parse("spiffe://test.isthmus.local/ns/shop/sa/checkout"),
                Duration.ofMinutes(5));
        Reply workloadReply = post(client(trust.runtime(), workload), uri(), b, null);
        assertThat(workloadReply.status()).isEqualTo(403);
        assertThat(workloadReply.code()).isEqualTo("admin-forbidden");
    }
}
