package io.isthmus.gateway.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.testing.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** TokenReview against the fabric8 mock API server in expectations mode: each answer is set by the test. */
@EnableKubernetesMockClient
class TokenReviewAuthenticatorTest {
    static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";
    static final TrustDomain TD = new TrustDomain("a.acme.internal");

    KubernetesMockServer server;
    KubernetesClient client;

    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T10:00:00Z"));
    ExecutorService executor;

    @BeforeEach
    void executor() {
        executor = Executors.newFixedThreadPool(2);
    }

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    TokenReviewAuthenticator authenticator(List<String> audiences) {
        return new TokenReviewAuthenticator(client, TD, audiences, Duration.ofMinutes(5), Duration.ofSeconds(10),
                100, Duration.ofSeconds(5), clock, executor, meters);
    }

    static TokenReview answer(boolean authenticated, String username, List<String> audiences, String error) {
        return new TokenReviewBuilder().withNewStatus().withAuthenticated(authenticated).withError(error)
                .withAudiences(audiences).withNewUser().withUsername(username).endUser().endStatus().build();
    }

    /** A JWT-shaped token whose payload carries {@code exp}; the signature is irrelevant to the gateway. */
    static String jwt(Instant exp) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(("{\"exp\":" + exp.getEpochSecond() + "}").getBytes(StandardCharsets.UTF_8))
                + ".c2ln";
    }

    static AuthnResult await(java.util.concurrent.CompletionStage<AuthnResult> stage) throws Exception {
        return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /**
     * A review in progress when the gateway stops finishes, and its caller gets the answer; a call that arrives after
     * is refused as unavailable. Neither is logged as a failure of the API server. Before, the stop interrupted the
     * review: "caller authentication: the Kubernetes API server could not be asked" at WARN on a clean stop.
     */
    @Test
    void aReviewInProgressAtStopFinishesAndTheStopLogsNoFailure() throws Exception {
        CountDownLatch reviewing = new CountDownLatch(1);
        server.expect().post().withPath(PATH).andReply(201, request -> {
            reviewing.countDown();
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return answer(true, "system:serviceaccount:shop:checkout", List.of(), null);
        }).once();
        TokenReviewAuthenticator authn = authenticator(List.of());
        try (LogCapture log = LogCapture.of(TokenReviewAuthenticator.class)) {
            CompletableFuture<AuthnResult> inProgress = authn.authenticate("token-in-progress").toCompletableFuture();
            assertThat(reviewing.await(10, TimeUnit.SECONDS)).as("the review reached the API server").isTrue();
            authn.stop(Duration.ofSeconds(2));
            assertThat(inProgress.get(1, TimeUnit.SECONDS)).isEqualTo(
                    new AuthnResult.Authenticated(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout")));
            AuthnResult after = await(authn.authenticate("token-after-stop"));
            assertThat(after).isInstanceOf(AuthnResult.Refused.class);
            assertThat(((AuthnResult.Refused) after).reason()).isEqualTo(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE);
            assertThat(log.atLeast(Level.WARNING)).as("warnings logged at stop").isEmpty();
        }
    }

    @Test
    void serviceAccountTokenMapsToSpiffeIdAndIsCached() throws Exception {
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "system:serviceaccount:shop:checkout", List.of("isthmus"), null))
                .once();
        TokenReviewAuthenticator authn = authenticator(List.of("isthmus"));
        String token = jwt(clock.instant().plus(Duration.ofHours(1)));

        assertThat(await(authn.authenticate(token))).isEqualTo(
                new AuthnResult.Authenticated(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout")));
        int before = server.getRequestCount();
        // Served from the cache: the mock would answer 404 to a second call.
        assertThat(await(authn.authenticate(token))).isInstanceOf(AuthnResult.Authenticated.class);
        assertThat(server.getRequestCount()).isEqualTo(before);
        assertThat(meters.get("isthmus.authn.token.reviews").tag("result", "authenticated").counter().count())
                .isEqualTo(1);
        assertThat(meters.get("isthmus.authn.token.cache").tag("result", "hit").counter().count()).isEqualTo(1);

        RecordedRequest sent = server.getLastRequest();
        JsonNode body = new ObjectMapper().readTree(sent.getBody().readUtf8());
        assertThat(body.at("/spec/token").asText()).isEqualTo(token);
        assertThat(body.at("/spec/audiences/0").asText()).isEqualTo("isthmus");
    }

    @Test
    void concurrentCallsWithOneTokenShareOneReview() throws Exception {
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "system:serviceaccount:shop:cart", List.of(), null)).once();
        TokenReviewAuthenticator authn = authenticator(List.of());
        int before = server.getRequestCount();
        List<CompletableFuture<AuthnResult>> calls = java.util.stream.IntStream.range(0, 20)
                .mapToObj(i -> authn.authenticate("opaque-token").toCompletableFuture()).toList();
        for (CompletableFuture<AuthnResult> c : calls) {
            assertThat(c.get(10, TimeUnit.SECONDS)).isInstanceOf(AuthnResult.Authenticated.class);
        }
        assertThat(server.getRequestCount() - before).isEqualTo(1);
    }

    @Test
    void cacheNeverOutlivesTheTokensExpiry() throws Exception {
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "system:serviceaccount:shop:checkout", List.of(), null)).times(2);
        TokenReviewAuthenticator authn = authenticator(List.of());
        String token = jwt(clock.instant().plus(Duration.ofSeconds(30)));
        await(authn.authenticate(token));
        int before = server.getRequestCount();
        clock.advance(Duration.ofSeconds(29));
        await(authn.authenticate(token));
        assertThat(server.getRequestCount()).isEqualTo(before);
        clock.advance(Duration.ofSeconds(2));
        await(authn.authenticate(token));
        assertThat(server.getRequestCount()).as("expired token is reviewed again").isEqualTo(before + 1);
    }

    @Test
    void rejectedTokenIsRefusedAndCachedShortly() throws Exception {
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(false, null, null, "[invalid bearer token, token has been invalidated]"))
                .times(2);
        TokenReviewAuthenticator authn = authenticator(List.of());
        AuthnResult r = await(authn.authenticate("revoked"));
        assertThat(r).isEqualTo(new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED, "the API server did not "
                + "authenticate the token: [invalid bearer token, token has been invalidated]"));
        int before = server.getRequestCount();
        clock.advance(Duration.ofSeconds(9));
        assertThat(await(authn.authenticate("revoked"))).isEqualTo(r);
        assertThat(server.getRequestCount()).isEqualTo(before);
        clock.advance(Duration.ofSeconds(2));
        await(authn.authenticate("revoked"));
        assertThat(server.getRequestCount()).isEqualTo(before + 1);
    }

    @Test
    void otherUserKindsAreNotServiceAccounts() throws Exception {
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "kubernetes-admin", List.of(), null)).once();
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "system:node:worker-1", List.of(), null)).once();
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "system:serviceaccount:shop", List.of(), null)).once();
        TokenReviewAuthenticator authn = authenticator(List.of());
        assertThat(await(authn.authenticate("admin"))).isEqualTo(new AuthnResult.Refused(
                AuthnFailure.TOKEN_NOT_A_SERVICE_ACCOUNT, "token authenticates user \"kubernetes-admin\", not a "
                        + "service account (system:serviceaccount:<namespace>:<name>)"));
        assertThat(await(authn.authenticate("node"))).isInstanceOfSatisfying(AuthnResult.Refused.class,
                r -> assertThat(r.reason()).isEqualTo(AuthnFailure.TOKEN_NOT_A_SERVICE_ACCOUNT));
        assertThat(await(authn.authenticate("short"))).isInstanceOfSatisfying(AuthnResult.Refused.class,
                r -> assertThat(r.detail()).contains("is not system:serviceaccount:<namespace>:<name>"));
    }

    @Test
    void tokenForAnotherAudienceIsRejected() throws Exception {
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "system:serviceaccount:shop:checkout", List.of("vault"), null)).once();
        AuthnResult r = await(authenticator(List.of("isthmus")).authenticate("for-vault"));
        assertThat(r).isEqualTo(new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED,
                "token is valid for audiences [vault], none of [isthmus]"));
    }

    @Test
    void missingRbacIsUnavailableWithAHintAndNotCached() throws Exception {
        server.expect().post().withPath(PATH).andReturn(403, "{\"kind\":\"Status\",\"code\":403}").once();
        server.expect().post().withPath(PATH)
                .andReturn(201, answer(true, "system:serviceaccount:shop:checkout", List.of(), null)).once();
        TokenReviewAuthenticator authn = authenticator(List.of());
        assertThat(await(authn.authenticate("t"))).isInstanceOfSatisfying(AuthnResult.Refused.class, r -> {
            assertThat(r.reason()).isEqualTo(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE);
            assertThat(r.detail()).contains("HTTP 403").contains("tokenreviews.authentication.k8s.io");
        });
        assertThat(await(authn.authenticate("t"))).as("unavailability was not cached")
                .isInstanceOf(AuthnResult.Authenticated.class);
    }

    @Test
    void unreachableApiServerIsUnavailableNeverSuccess() throws Exception {
        KubernetesClient dead = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(
                new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl("https://127.0.0.1:1")
                        .withRequestRetryBackoffLimit(0).withConnectionTimeout(500).build()).build();
        try {
            TokenReviewAuthenticator authn = new TokenReviewAuthenticator(dead, TD, List.of(), Duration.ofMinutes(1),
                    Duration.ofSeconds(1), 10, Duration.ofSeconds(5), clock, executor, meters);
            assertThat(await(authn.authenticate("t"))).isInstanceOfSatisfying(AuthnResult.Refused.class,
                    r -> assertThat(r.reason()).isEqualTo(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE));
        } finally {
            dead.close();
        }
    }

    @Test
    void missingOrHugeTokensNeverReachTheApiServer() throws Exception {
        TokenReviewAuthenticator authn = authenticator(List.of());
        int before = server.getRequestCount();
        assertThat(await(authn.authenticate(""))).isInstanceOfSatisfying(AuthnResult.Refused.class,
                r -> assertThat(r.reason()).isEqualTo(AuthnFailure.NO_CREDENTIAL));
        assertThat(await(authn.authenticate("x".repeat(TokenReviewAuthenticator.MAX_TOKEN_LENGTH + 1))))
                .isInstanceOfSatisfying(AuthnResult.Refused.class,
                        r -> assertThat(r.reason()).isEqualTo(AuthnFailure.TOKEN_REJECTED));
        assertThat(server.getRequestCount()).isEqualTo(before);
    }

    @Test
    void readsExpiryOnlyFromJwtShapedTokens() {
        assertThat(TokenReviewAuthenticator.tokenExpiry(jwt(Instant.parse("2030-01-01T00:00:00Z"))))
                .contains(Instant.parse("2030-01-01T00:00:00Z"));
        assertThat(TokenReviewAuthenticator.tokenExpiry("opaque")).isEmpty();
        assertThat(TokenReviewAuthenticator.tokenExpiry("a.!!!.c")).isEmpty();
    }
}
