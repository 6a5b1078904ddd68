package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;


import io.isthmus.gateway.enrolment.EnrolmentService;
import io.isthmus.gateway.enrolment.TestClients;
import io.isthmus.gateway.enrolment.TestClients.Reply;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.jwt.JwtRejection;
import io.isthmus.trust.jwt.JwtSvid;
import io.isthmus.trust.jwt.JwtSvidValidator;
import io.isthmus.trust.jwt.JwtVerdict;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * JWT-SVID issuance over real TLS: an enrolled VM gets a token for itself or a workload under its path, verifiable
 * against the bundle the bundle endpoint serves; other subjects, callers without an SVID and bad requests are
 * refused with stable codes; the signing key rotates through the admin API with overlap.
 */
@QuarkusTest
class JwtSvidApiTest {
    private static final String ADMIN_TOKEN = io.isthmus.gateway.api.ApiReads.ADMIN_TOKEN;

    @Inject
    TrustService trust;

    @Inject
    EnrolmentService enrolment;

    @Inject
    JwtAuthorityService authority;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    private X509Svid enrolVm(String ns, String sa) {
        return TestClients.enrolledVm(enrolment, ns, sa);
    }

    private HttpClient client(X509Svid svid) {
        return TestClients.client(trust.runtime(), svid);
    }

    private Reply post(HttpClient client, String path, String body, String authorization) {
        return TestClients.post(client, URI.create(https.toString().replaceAll("/$", "") + path), body,
                authorization == null ? null : authorization.substring("Bearer ".length()));
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
    void theAuthoritySignsForAtMostItsConfiguredLifetimeAndForLessWhenTheCallerBoundsIt() {
        SpiffeId subject = SpiffeId.ofServiceAccount(trust.runtime().trustDomain(), "jwtshop", "bounded-vm");
        assertThat(authority.svidTtl()).isEqualTo(Duration.ofMinutes(5));
        Instant before = Instant.now();
        JwtSvid bounded = authority.sign(subject, List.of("a"), Duration.ofSeconds(20));
        assertThat(bounded.expiry()).isBetween(before.plusSeconds(19), Instant.now().plusSeconds(20));
        assertThatThrownBy(() -> authority.sign(subject, List.of("a"), Duration.ofMinutes(5).plusSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a JWT-SVID lifetime of PT5M1S is longer than isthmus.jwt.svid-ttl = PT5M");
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
