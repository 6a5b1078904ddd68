package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.enrolment.EnrolmentService;
import io.isthmus.gateway.enrolment.IssuedSvid;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.jwt.JwtRejection;
import io.isthmus.trust.jwt.JwtSvidValidator;
import io.isthmus.trust.jwt.JwtVerdict;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;
import io.isthmus.trust.x509.Crypto;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * JWT-SVID issuance over real TLS: an enrolled VM gets a token for itself or a workload under its path, verifiable
 * against the bundle the bundle endpoint serves; other subjects, callers without an SVID and bad requests are
 * refused with stable codes; the signing key rotates through the admin API with overlap.
 */
@QuarkusTest
class JwtSvidApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ADMIN_TOKEN = io.isthmus.gateway.api.ApiReads.ADMIN_TOKEN;

    @Inject
    TrustService trust;

    @Inject
    EnrolmentService enrolment;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    record Reply(int status, JsonNode body) {
    }

    private X509Svid enrolVm(String ns, String sa) {
        EnrolmentService.CreatedToken token = enrolment.createToken("test", ns, sa, Optional.of(Duration.ofMinutes(5)),
                Optional.of(1));
        KeyPair keys = Crypto.generateEcP256();
        String csr = new String(io.isthmus.trust.testing.TestCa.csr(keys, "spiffe://ignored/x"), StandardCharsets.US_ASCII);
        IssuedSvid issued = enrolment.enrol("127.0.0.1", token.text(), csr);
        return new X509Svid(issued.id(), keys.getPrivate(), issued.chain());
    }

    private HttpClient client(X509Svid svid) {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsContexts.create(svid == null ? null : () -> svid, new SpiffeTrustManager(
                        trust.runtime().verifier(), PeerPolicy.exactly(trust.runtime().settings().gatewayId()))))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    private Reply post(HttpClient client, String path, String body, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(https.toString().replaceAll("/$", "") + path))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        try {
            HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body().isBlank() ? JSON.nullNode() : JSON.readTree(r.body()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Reply jwt(HttpClient c, String body) {
        return post(c, "/v1/agent/jwt-svid", body, null);
    }

    private JwtVerdict validate(String token, String audience) {
        // The bundle exactly as peers receive it: serialized by the bundle endpoint's codec and parsed back.
        BundleCodec codec = new BundleCodec();
        TrustDomain td = trust.runtime().trustDomain();
        var served = codec.parse(td, codec.toJson(trust.runtime().localBundle().current()).getBytes(StandardCharsets.UTF_8),
                "local").bundle();
        return JwtSvidValidator.validate(token, audience, t -> t.equals(td) ? Optional.of(served) : Optional.empty(),
                Instant.now());
    }

    @Test
    void issuesForTheAgentAndUnderItsPathOnly() {
        X509Svid vm = enrolVm("jwtshop", "web-vm");
        HttpClient c = client(vm);

        Reply own = jwt(c, "{\"audience\": [\"orders\", \"billing\"]}");
        assertThat(own.status()).as(own.body().toString()).isEqualTo(200);
        assertThat(own.body().path("spiffeId").asText()).isEqualTo(vm.id().toString());
        assertThat(validate(own.body().path("token").asText(), "billing")).isInstanceOfSatisfying(JwtVerdict.Valid.class,
                v -> assertThat(v.svid().id()).isEqualTo(vm.id()));
        assertThat(Duration.between(Instant.now(), Instant.parse(own.body().path("expiresAt").asText())))
                .isBetween(Duration.ofMinutes(4), Duration.ofMinutes(5));

        Reply under = jwt(c, "{\"audience\": [\"orders\"], \"spiffeId\": \"" + vm.id() + "/api\"}");
        assertThat(under.status()).as(under.body().toString()).isEqualTo(200);
        assertThat(under.body().path("spiffeId").asText()).isEqualTo(vm.id() + "/api");

        Reply sibling = jwt(c, "{\"audience\": [\"orders\"], \"spiffeId\": \"" + vm.id() + "x\"}");
        assertThat(sibling.status()).isEqualTo(403);
        assertThat(sibling.body().path("code").asText()).isEqualTo("subject-not-allowed");
        Reply gateway = jwt(c, "{\"audience\": [\"orders\"], \"spiffeId\": \"" + trust.runtime().settings().gatewayId()
                + "\"}");
        assertThat(gateway.status()).isEqualTo(403);

        for (String bad : new String[] {"{}", "{\"audience\": []}", "{\"audience\": \"orders\"}",
                "{\"audience\": [\"\"]}", "{\"audience\": [1]}", "[]", "not json",
                "{\"audience\": [\"x\"], \"spiffeId\": \"https://x/y\"}"}) {
            Reply r = jwt(c, bad);
            assertThat(r.status()).as(bad + " -> " + r.body()).isEqualTo(400);
            assertThat(r.body().path("detail").asText()).isNotBlank();
        }

        Reply anonymous = jwt(client(null), "{\"audience\": [\"orders\"]}");
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.body().path("code").asText()).isEqualTo("client-certificate-required");
    }

    @Test
    void rotatesTheSigningKeyWithOverlap() {
        X509Svid vm = enrolVm("jwtshop", "rotating-vm");
        HttpClient c = client(vm);
        io.isthmus.gateway.api.ApiReads.asAdmin(https); // writes the test profile's bootstrap token file
        HttpClient admin = client(null);
        String bearer = "Bearer " + ADMIN_TOKEN;
        String before = jwt(c, "{\"audience\": [\"a\"]}").body().path("token").asText();
        String oldKid = trust.runtime().localBundle().current().jwtAuthorities().get(0).keyId();

        assertThat(post(admin, "/v1/admin/jwt/activate", "", bearer).status()).isEqualTo(409);
        assertThat(post(admin, "/v1/admin/jwt/prepare", "", null).status()).isEqualTo(401);
        Reply prepared = post(admin, "/v1/admin/jwt/prepare", "", bearer);
        assertThat(prepared.status()).as(prepared.body().toString()).isEqualTo(200);
        String newKid = prepared.body().path("next").asText();
        assertThat(trust.runtime().localBundle().current().jwtAuthorities()).extracting(JwtAuthority::keyId)
                .contains(oldKid, newKid);

        Reply activated = post(admin, "/v1/admin/jwt/activate", "", bearer);
        assertThat(activated.status()).as(activated.body().toString()).isEqualTo(200);
        assertThat(activated.body().path("active").asText()).isEqualTo(newKid);
        String after = jwt(c, "{\"audience\": [\"a\"]}").body().path("token").asText();
        assertThat(validate(after, "a")).isInstanceOfSatisfying(JwtVerdict.Valid.class,
                v -> assertThat(v.keyId()).isEqualTo(newKid));
        assertThat(validate(before, "a")).as("a token of the old key still verifies while it retires")
                .isInstanceOf(JwtVerdict.Valid.class);

        Reply early = post(admin, "/v1/admin/jwt/retire/" + oldKid, "", bearer);
        assertThat(early.status()).isEqualTo(409);
        assertThat(early.body().path("detail").asText()).contains("may still have signed live tokens");
        assertThat(validate(before, "a")).isInstanceOf(JwtVerdict.Valid.class);
        assertThat(validate(before, "b")).isInstanceOfSatisfying(JwtVerdict.Invalid.class,
                v -> assertThat(v.reason()).isEqualTo(JwtRejection.AUDIENCE_MISMATCH));
    }
}
