package io.isthmus.gateway.enrolment;

import static io.isthmus.gateway.enrolment.TestClients.JSON;
import static io.isthmus.gateway.enrolment.TestClients.client;
import static io.isthmus.gateway.enrolment.TestClients.csrPem;
import static io.isthmus.gateway.enrolment.TestClients.enrolBody;
import static io.isthmus.gateway.enrolment.TestClients.get;
import static io.isthmus.gateway.enrolment.TestClients.post;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import jakarta.inject.Inject;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.gateway.enrolment.TestClients.Reply;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Pem;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The enrolment API over real TLS on the gateway: a join token buys exactly one SVID for the token's identity;
 * every bad request is refused with its own code, issues nothing and changes nothing.
 */
@QuarkusTest
class EnrolmentApiTest {
    private static final String ADMIN_TOKEN = "test-bootstrap-admin-token-0123456789abcdef";
    private static final String TD = "test.isthmus.local";

    @Inject
    TrustService trust;

    @Inject
    EnrolmentService service;

    @Inject
    EnrolmentAudit audit;

    @Inject
    EnrolmentStores stores;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    @TestHTTPResource("/")
    URL http;

    private HttpClient anonymous;

    @BeforeEach
    void setUp() throws IOException {
        Path file = Path.of("target/test-admin-token");
        Files.writeString(file, ADMIN_TOKEN + "\n", StandardCharsets.UTF_8);
        anonymous = client(trust.runtime(), null);
    }

    private URI uri(String path) {
        return URI.create(https.toString().replaceAll("/$", "") + path);
    }

    private JsonNode createToken(String ns, String sa, String ttl, int maxUses) {
        String body = JSON.createObjectNode().put("namespace", ns).put("serviceAccount", sa).put("ttl", ttl)
                .put("maxUses", maxUses).toString();
        Reply r = post(anonymous, uri("/v1/admin/join-tokens"), body, ADMIN_TOKEN);
        assertThat(r.status()).as(r.body().toString()).isEqualTo(201);
        return r.body();
    }

    private X509Svid svidOf(Reply r, KeyPair keys) {
        List<X509Certificate> chain = Pem.readCertificates(r.body().path("svidChain").asText(), "response");
        return new X509Svid(SpiffeId.parse(r.body().path("spiffeId").asText()), keys.getPrivate(), chain);
    }

    @Test
    void enrolsOnceWithTheTokensIdentityWhateverTheCsrClaims() {
        JsonNode token = createToken("shop", "billing-vm", "15m", 1);
        KeyPair keys = Crypto.generateEcP256();
        long before = service.issuedCount();
        Reply r = post(anonymous, uri("/v1/enrol"), enrolBody(token.path("token").asText(),
                csrPem(keys, "spiffe://" + TD + "/ns/isthmus-system/sa/isthmus-gateway")), null);

        assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
        X509Svid svid = svidOf(r, keys);
        assertThat(svid.id().toString()).isEqualTo("spiffe://" + TD + "/ns/shop/sa/billing-vm");
        assertThat(Certificates.uriSans(svid.leaf())).containsExactly("spiffe://" + TD + "/ns/shop/sa/billing-vm");
        assertThat(trust.runtime().verifier().verify(svid.chain())).isInstanceOf(SvidVerdict.Verified.class);
        assertThat(r.body().path("bundles").has(TD)).isTrue();
        assertThat(r.body().path("bundles").path(TD).path("keys").get(0).path("use").asText()).isEqualTo("x509-svid");
        assertThat(service.issuedCount()).isEqualTo(before + 1);

        Reply again = post(anonymous, uri("/v1/enrol"), enrolBody(token.path("token").asText(),
                csrPem(Crypto.generateEcP256(), null)), null);
        assertThat(again.status()).isEqualTo(401);
        assertThat(again.code()).isEqualTo("token-used");
        assertThat(service.issuedCount()).isEqualTo(before + 1);
        assertThat(audit.recent()).anySatisfy(line -> assertThat(line).contains("\"decision\":\"deny\"")
                .contains("\"code\":\"token-used\"").contains(token.path("details").path("id").asText()));
    }

    private record BadCase(String name, String body, int status, String code) {
    }

    @Test
    void refusesEveryBadRequestWithItsOwnCodeIssuingAndChangingNothing() throws Exception {
        String ok = csrPem(Crypto.generateEcP256(), null);
        JsonNode fresh = createToken("shop", "table-vm", "15m", 1);
        String freshText = fresh.path("token").asText();
        // A token that expired a minute ago, as the store holds it (the expiry itself, on an injected clock, is
        // JoinTokenPolicyTest's): presented now, on the real clock, without waiting for one to run out.
        JoinTokenSecrets.Minted expired = JoinTokenSecrets.mint();
        Instant now = Instant.now();
        stores.tokens().create(new JoinToken(expired.id(), SpiffeId.parse("spiffe://" + TD + "/ns/shop/sa/table-vm"),
                expired.hash(), now.minus(Duration.ofMinutes(16)), now.minus(Duration.ofMinutes(1)), 1, 0, false));
        JsonNode revoked = createToken("shop", "table-vm", "15m", 1);
        assertThat(TestClients.delete(anonymous, uri("/v1/admin/join-tokens/" + revoked.path("details").path("id").asText()),
                ADMIN_TOKEN).status()).isEqualTo(200);
        JsonNode revokedIdentity = createToken("shop", "gone-vm", "15m", 1);
        assertThat(post(anonymous, uri("/v1/admin/identities/revoke"), JSON.createObjectNode()
                .put("spiffeId", "spiffe://" + TD + "/ns/shop/sa/gone-vm").put("reason", "decommissioned").toString(),
                ADMIN_TOKEN).status()).isEqualTo(200);

        KeyPair a = Crypto.generateEcP256();
        KeyPair b = Crypto.generateEcP256();
        String badSignature = Pem.write(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), a.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(Crypto.BC).build(b.getPrivate())));
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(1024);
        KeyPair weak = rsa.generateKeyPair();
        String weakCsr = Pem.write(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), weak.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withRSA").setProvider(Crypto.BC).build(weak.getPrivate())));
        String forged = JoinTokenSecrets.mint().text();
        String wrongSecret = freshText.substring(0, freshText.lastIndexOf('.') + 1) + JoinTokenSecrets.mint().secret();

        List<BadCase> cases = List.of(
                new BadCase("garbage body", "\u0000\u0001 not json {", 400, "invalid-request"),
                new BadCase("empty body", "", 400, "invalid-request"),
                new BadCase("JSON array", "[1,2]", 400, "invalid-request"),
                new BadCase("token not a string", "{\"token\":42,\"csr\":\"x\"}", 400, "invalid-request"),
                new BadCase("not a token", enrolBody("hello", ok), 401, "token-unknown"),
                new BadCase("forged token", enrolBody(forged, ok), 401, "token-unknown"),
                new BadCase("right id, wrong secret", enrolBody(wrongSecret, ok), 401, "token-unknown"),
                new BadCase("expired token", enrolBody(expired.text(), ok), 401, "token-expired"),
                new BadCase("revoked token", enrolBody(revoked.path("token").asText(), ok), 401, "token-revoked"),
                new BadCase("revoked identity", enrolBody(revokedIdentity.path("token").asText(), ok), 403,
                        "identity-revoked"),
                new BadCase("CSR with a bad signature", enrolBody(freshText, badSignature), 400, "csr-bad-signature"),
                new BadCase("CSR that is not PEM", enrolBody(freshText, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                        + "-----END CERTIFICATE REQUEST-----\n"), 400, "csr-malformed"),
                new BadCase("no CSR", enrolBody(freshText, null), 400, "csr-malformed"),
                new BadCase("CSR with a 1024-bit RSA key", enrolBody(freshText, weakCsr), 400, "csr-unsupported-key"));

        for (BadCase c : cases) {
            long issued = service.issuedCount();
            List<JoinToken> tokensBefore = stores.tokens().list();
            List<VmIdentity> identitiesBefore = stores.identities().list();
            Reply r = post(anonymous, uri("/v1/enrol"), c.body(), null);
            assertThat(r.status()).as(c.name() + ": " + r.body()).isEqualTo(c.status());
            assertThat(r.code()).as(c.name()).isEqualTo(c.code());
            assertThat(r.body().path("detail").asText()).as(c.name()).isNotBlank();
            assertThat(r.body().has("svidChain")).as(c.name()).isFalse();
            assertThat(service.issuedCount()).as(c.name() + ": nothing issued").isEqualTo(issued);
            assertThat(stores.tokens().list()).as(c.name() + ": tokens unchanged").isEqualTo(tokensBefore);
            assertThat(stores.identities().list()).as(c.name() + ": identities unchanged").isEqualTo(identitiesBefore);
        }
        // The token that met the bad CSRs is still unused and works.
        Reply r = post(anonymous, uri("/v1/enrol"), enrolBody(freshText, ok), null);
        assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
    }

    @Test
    void concurrentEnrolmentsWithOneTokenYieldExactlyOneSvid() throws Exception {
        String token = createToken("shop", "race-vm", "15m", 1).path("token").asText();
        long before = service.issuedCount();
        int n = 6;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Reply>> replies = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String csr = csrPem(Crypto.generateEcP256(), null);
                HttpClient c = client(trust.runtime(), null);
                Callable<Reply> call = () -> {
                    go.await();
                    return post(c, uri("/v1/enrol"), enrolBody(token, csr), null);
                };
                replies.add(pool.submit(call));
            }
            go.countDown();
            int ok = 0;
            for (Future<Reply> f : replies) {
                Reply r = f.get();
                if (r.status() == 200) {
                    ok++;
                } else {
                    assertThat(r.code()).isEqualTo("token-used");
                }
            }
            assertThat(ok).isEqualTo(1);
            assertThat(service.issuedCount()).isEqualTo(before + 1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void renewsAnEnrolledVmByItsSvidUntilItIsRevoked() {
        String token = createToken("shop", "renew-vm", "15m", 1).path("token").asText();
        KeyPair first = Crypto.generateEcP256();
        X509Svid svid = svidOf(post(anonymous, uri("/v1/enrol"), enrolBody(token, csrPem(first, null)), null), first);

        KeyPair next = Crypto.generateEcP256();
        String renewBody = JSON.createObjectNode().put("csr", csrPem(next, "spiffe://" + TD + "/ns/x/sa/other")).toString();
        Reply renewed = post(client(trust.runtime(), svid), uri("/v1/renew"), renewBody, null);
        assertThat(renewed.status()).as(renewed.body().toString()).isEqualTo(200);
        X509Svid second = svidOf(renewed, next);
        assertThat(second.id()).isEqualTo(svid.id());
        assertThat(second.leaf().getSerialNumber()).isNotEqualTo(svid.leaf().getSerialNumber());

        Reply noCert = post(anonymous, uri("/v1/renew"), renewBody, null);
        assertThat(noCert.code()).isEqualTo("client-certificate-required");
        Reply gateway = post(client(trust.runtime(), trust.runtime().current()), uri("/v1/renew"), renewBody, null);
        assertThat(gateway.code()).isEqualTo("not-a-vm-identity");
        X509Svid stranger = trust.runtime().ca().issue(SpiffeId.parse("spiffe://" + TD + "/ns/shop/sa/never-enrolled"),
                java.time.Duration.ofMinutes(5));
        assertThat(post(client(trust.runtime(), stranger), uri("/v1/renew"), renewBody, null).code())
                .isEqualTo("identity-not-enrolled");

        assertThat(post(anonymous, uri("/v1/admin/identities/revoke"), JSON.createObjectNode()
                .put("spiffeId", svid.id().toString()).put("reason", "compromised").toString(), ADMIN_TOKEN).status())
                .isEqualTo(200);
        long issued = service.issuedCount();
        Reply refused = post(client(trust.runtime(), second), uri("/v1/renew"), renewBody, null);
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.code()).isEqualTo("identity-revoked");
        assertThat(refused.body().path("detail").asText()).contains("compromised");
        assertThat(service.issuedCount()).isEqualTo(issued);
        Reply listed = get(anonymous, uri("/v1/admin/identities"), ADMIN_TOKEN);
        assertThat(listed.body().toString()).contains(svid.id().toString()).contains("revoked");
    }

    @Test
    void signsWorkloadSvidsOnlyUnderTheCallingAgentsPath() {
        String token = createToken("shop", "db-1", "15m", 1).path("token").asText();
        KeyPair agentKey = Crypto.generateEcP256();
        X509Svid agent = svidOf(post(anonymous, uri("/v1/enrol"), enrolBody(token, csrPem(agentKey, null)), null), agentKey);
        HttpClient asAgent = client(trust.runtime(), agent);
        KeyPair workloadKey = Crypto.generateEcP256();
        java.util.function.Function<String, String> body = id -> JSON.createObjectNode().put("spiffeId", id)
                .put("csr", csrPem(workloadKey, null)).toString();

        String child = "spiffe://" + TD + "/ns/shop/sa/db-1/billing";
        Reply issued = post(asAgent, uri("/v1/agent/workload-svid"), body.apply(child), null);
        assertThat(issued.status()).as(issued.body().toString()).isEqualTo(200);
        X509Svid workload = svidOf(issued, workloadKey);
        assertThat(Certificates.uriSans(workload.leaf())).containsExactly(child);
        assertThat(trust.runtime().verifier().verify(workload.chain())).isInstanceOf(SvidVerdict.Verified.class);

        long before = service.issuedCount();
        for (String attack : List.of("spiffe://" + TD + "/ns/shop/sa/db-2/billing", "spiffe://" + TD + "/ns/shop/sa/db-1x",
                "spiffe://" + TD + "/ns/isthmus-system/sa/isthmus-gateway", "spiffe://other.example/ns/shop/sa/db-1/x",
                "spiffe://" + TD + "/ns/shop/sa/db-1/../db-2")) {
            Reply refused = post(asAgent, uri("/v1/agent/workload-svid"), body.apply(attack), null);
            assertThat(refused.status()).as(attack).isEqualTo(403);
            assertThat(refused.code()).as(attack).isEqualTo("workload-id-refused");
        }
        // A workload's own SVID cannot ask for more: its ID is not of a VM's form.
        assertThat(post(client(trust.runtime(), workload), uri("/v1/agent/workload-svid"),
                body.apply(child + "/deeper"), null).code()).isEqualTo("not-a-vm-identity");
        assertThat(post(anonymous, uri("/v1/agent/workload-svid"), body.apply(child), null).code())
                .isEqualTo("client-certificate-required");
        assertThat(service.issuedCount()).isEqualTo(before);
    }

    @Test
    void adminNeedsTheBootstrapTokenOrAnAdminSvid() {
        String body = JSON.createObjectNode().put("namespace", "shop").put("serviceAccount", "x").toString();
        assertThat(post(anonymous, uri("/v1/admin/join-tokens"), body, null).code()).isEqualTo("admin-unauthenticated");
        assertThat(post(anonymous, uri("/v1/admin/join-tokens"), body, "wrong-token").code())
                .isEqualTo("admin-unauthenticated");
        X509Svid admin = trust.runtime().ca().issue(SpiffeId.parse("spiffe://" + TD + "/ns/ops/sa/admin"),
                java.time.Duration.ofMinutes(5));
        X509Svid notAdmin = trust.runtime().ca().issue(SpiffeId.parse("spiffe://" + TD + "/ns/ops/sa/intern"),
                java.time.Duration.ofMinutes(5));
        Reply created = post(client(trust.runtime(), admin), uri("/v1/admin/join-tokens"), body, null);
        assertThat(created.status()).as(created.body().toString()).isEqualTo(201);
        assertThat(post(client(trust.runtime(), notAdmin), uri("/v1/admin/join-tokens"), body, null).code())
                .isEqualTo("admin-forbidden");
        String secret = created.body().path("token").asText().substring(created.body().path("token").asText().lastIndexOf('.') + 1);
        Reply list = get(client(trust.runtime(), admin), uri("/v1/admin/join-tokens"), null);
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.raw().body()).contains(created.body().path("details").path("id").asText()).doesNotContain(secret);
        assertThat(post(anonymous, uri("/v1/admin/join-tokens"), JSON.createObjectNode().put("namespace", "isthmus-system")
                .put("serviceAccount", "isthmus-gateway").toString(), ADMIN_TOKEN).code()).isEqualTo("not-a-vm-identity");
    }

    @Test
    void cliCreatesListsAndRevokesTokensThroughTheAdminApi() {
        String gateway = https.toString();
        String[] unpinned = {"--gateway", gateway, "--admin-token-file", "target/test-admin-token", "--root-ca",
            "target/test-data/dev-ca/root.pem"};
        String[] conn = concat(unpinned, new String[] {"--trust-domain", TD});
        CliRun created = cli(concat(new String[] {"token", "create"}, conn, new String[] {"--namespace", "shop",
            "--service-account", "cli-vm", "--ttl", "15m"}));
        assertThat(created.exit()).as(created.err()).isZero();
        String token = created.out().lines().findFirst().orElseThrow();
        assertThat(JoinTokenSecrets.parse(token)).isPresent();
        assertThat(created.err()).contains("spiffe://" + TD + "/ns/shop/sa/cli-vm").contains("shown only once");
        String id = JoinTokenSecrets.parse(token).orElseThrow().id();
        CliRun listed = cli(concat(new String[] {"token", "list"}, conn));
        assertThat(listed.out()).contains(id).doesNotContain(JoinTokenSecrets.parse(token).orElseThrow().secret());
        assertThat(cli(concat(new String[] {"token", "revoke", "--id", id}, conn)).exit()).isZero();
        Reply r = post(anonymous, uri("/v1/enrol"), enrolBody(token, csrPem(Crypto.generateEcP256(), null)), null);
        assertThat(r.code()).isEqualTo("token-revoked");
        CliRun wrongDomain = cli(concat(new String[] {"token", "list", "--trust-domain", "other.example"}, unpinned));
        assertThat(wrongDomain.exit()).isEqualTo(1);
        CliRun noDomain = cli(concat(new String[] {"token", "list"}, unpinned));
        assertThat(noDomain.exit()).as(noDomain.err()).isEqualTo(2);
        assertThat(noDomain.err()).contains("--trust-domain is required (or --gateway-id)");
    }

    private record CliRun(int exit, String out, String err) {
    }

    private static String[] concat(String[]... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(String[]::new);
    }

    private static CliRun cli(String... args) {
        java.io.PrintStream oldOut = System.out;
        java.io.PrintStream oldErr = System.err;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        try {
            System.setOut(new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = io.isthmus.gateway.cli.IsthmusCli.run(args);
            return new CliRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void plainHttpIsRefused() {
        HttpClient plain = HttpClient.newHttpClient();
        Reply r = post(plain, URI.create(http.toString().replaceAll("/$", "") + "/v1/enrol"),
                enrolBody(JoinTokenSecrets.mint().text(), "x"), null);
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.code()).isEqualTo("tls-required");
    }
}
