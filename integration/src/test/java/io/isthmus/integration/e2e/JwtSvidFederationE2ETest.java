package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtKeyStore;
import io.isthmus.trust.jwt.JwtRejection;
import io.isthmus.trust.jwt.JwtSvidSigner;
import io.isthmus.trust.jwt.JwtSvidValidator;
import io.isthmus.trust.jwt.JwtVerdict;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.workloadapi.DefaultJwtSource;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.JwtSource;
import io.spiffe.workloadapi.JwtSourceOptions;
import io.spiffe.workloadapi.WorkloadApiClient;

/**
 * JWT-SVIDs across clusters, over real gateway and agent processes: a VM agent joined to alpha hands a workload
 * (java-spiffe's JwtSource on its socket) a JWT-SVID signed by alpha's gateway; beta verifies it through the bundle
 * of alpha it holds by federation (java-spiffe, nimbus-jose-jwt and our validator agree). A compromised beta, using
 * its own real signing key to claim an alpha subject, is refused by beta's view and by the agent's
 * ValidateJWTSVID; beta's own tokens verify at the alpha agent. Needs the packaged jars ({@link PackagedJars}).
 */
class JwtSvidFederationE2ETest {
    static final String VM_ID = "spiffe://alpha.acme.internal/ns/demo/sa/jwt-vm";
    static final String ADMIN_TOKEN = "jwt-e2e-bootstrap-admin-token-0123456789abcdef";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Process agent;

    @AfterEach
    void stop() throws Exception {
        Clusters.stopAll(agent, closeables);
    }

    @Test
    void aJwtSvidFromAlphaVerifiesInBetaAndBetaCannotForgeAlphaSubjects() throws Exception {
        Path agentJar = PackagedJars.agent();
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta");
        ClusterSpec alpha = clusters.get(0);
        ClusterSpec beta = clusters.get(1);
        Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2),
                this::configure, Map.of());
        closeables.add(federation);
        federation.start(Duration.ofSeconds(90));
        String root = federation.pki().rootCertificate().toString();

        String token = VmServiceE2ETest.createToken(alpha, root, "demo", "jwt-vm");
        Path socket = dir.resolve("workload.sock");
        Path agentLog = dir.resolve("agent.log");
        agent = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                agentJar.toString(), "join", "--gateway", alpha.apiUrl(""), "--trust-domain",
                alpha.trustDomain().name(), "--token", token, "--root-ca", root,
                "--state-dir", dir.resolve("agent").toString(), "--socket", socket.toString())
                .redirectErrorStream(true).redirectOutput(agentLog.toFile()).start();
        Awaitility.await("the agent serves its socket").atMost(Duration.ofSeconds(40))
                .pollInterval(Duration.ofMillis(200)).until(() -> {
                    if (!agent.isAlive()) {
                        throw new IllegalStateException("agent exited: " + Files.readString(agentLog));
                    }
                    return Files.exists(socket);
                });

        // Beta holds alpha's bundle, JWT authority included, by federation.
        GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
        TrustDomain alphaTd = alpha.trustDomain();
        TrustDomain betaTd = beta.trustDomain();
        BundleSet atBeta = Awaitility.await("beta holds alpha's jwt-svid key").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(300)).ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> bundlesHeldBy(api, beta), s -> s.bundleFor(alphaTd).map(b -> !b.jwtAuthorities().isEmpty())
                        .orElse(false));
        String alphaBundleJson = new BundleCodec().toJson(atBeta.bundleFor(alphaTd).orElseThrow());

        JwtSource source = DefaultJwtSource.newSource(JwtSourceOptions.builder().spiffeSocketPath("unix:" + socket)
                .initTimeout(Duration.ofSeconds(20)).build());
        WorkloadApiClient client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath("unix:" + socket).build());
        try {
            JwtSvid svid = source.fetchJwtSvid("payments.beta");
            assertThat(svid.getSpiffeId().toString()).isEqualTo(VM_ID);

            // Beta's view: our validator, java-spiffe and nimbus over alpha's bundle as beta holds it.
            assertThat(JwtSvidValidator.validate(svid.getToken(), "payments.beta", atBeta, Instant.now()))
                    .isInstanceOfSatisfying(JwtVerdict.Valid.class,
                            v -> assertThat(v.svid().id().toString()).isEqualTo(VM_ID));
            JwtBundle alphaAtBeta = JwtBundle.parse(io.spiffe.spiffeid.TrustDomain.parse(alphaTd.name()),
                    jwtOnly(alphaBundleJson).getBytes(StandardCharsets.UTF_8));
            assertThat(JwtSvid.parseAndValidate(svid.getToken(), alphaAtBeta, Set.of("payments.beta")).getSpiffeId()
                    .toString()).isEqualTo(VM_ID);
            SignedJWT jwt = SignedJWT.parse(svid.getToken());
            assertThat(jwt.verify(new ECDSAVerifier(JWKSet.parse(jwtOnly(alphaBundleJson))
                    .getKeyByKeyId(jwt.getHeader().getKeyID()).toECKey()))).isTrue();
            assertThat(JwtSvidValidator.validate(svid.getToken(), "orders.beta", atBeta, Instant.now()))
                    .isInstanceOfSatisfying(JwtVerdict.Invalid.class,
                            v -> assertThat(v.reason()).isEqualTo(JwtRejection.AUDIENCE_MISMATCH));

            // A compromised beta signs an alpha subject with its own real key: refused at beta and at the agent.
            JwtKeyRing betaKeys = new JwtKeyStore(beta.dataDir().resolve("jwt")).load().orElseThrow();
            String forged = JwtSvidSigner.sign(betaKeys.active(), SpiffeId.parse(VM_ID), List.of("payments.beta"),
                    Instant.now(), Duration.ofMinutes(5)).token();
            assertThat(JwtSvidValidator.validate(forged, "payments.beta", atBeta, Instant.now()))
                    .isInstanceOfSatisfying(JwtVerdict.Invalid.class,
                            v -> assertThat(v.reason()).isEqualTo(JwtRejection.UNKNOWN_KEY_ID));
            assertThatThrownBy(() -> client.validateJwtSvid(forged, "payments.beta"))
                    .hasStackTraceContaining("INVALID_ARGUMENT: invalid JWT-SVID (unknown-key-id)");

            // Beta's own workload token verifies at the alpha agent, through the federated bundle alpha relayed.
            String betaToken = JwtSvidSigner.sign(betaKeys.active(), SpiffeId.parse("spiffe://" + betaTd.name()
                    + "/ns/shop/sa/checkout"), List.of("vm-app"), Instant.now(), Duration.ofMinutes(5)).token();
            Awaitility.await("the agent validates beta's token").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> client.validateJwtSvid(betaToken, "vm-app").getSpiffeId().toString(),
                            id -> id.endsWith("/ns/shop/sa/checkout"));
        } finally {
            client.close();
            source.close();
        }
    }

    /** The bundles beta serves its agents ({@code GET /v1/agent/trust}, public): its own and the federated ones. */
    private static BundleSet bundlesHeldBy(GatewayClient api, ClusterSpec cluster) throws Exception {
        JsonNode reply = JSON.readTree(api.get(cluster.apiUrl("/v1/agent/trust")).body());
        List<TrustBundle> out = new ArrayList<>();
        BundleCodec codec = new BundleCodec();
        reply.path("bundles").fields().forEachRemaining(e -> out.add(codec.parse(TrustDomain.parse(e.getKey()),
                e.getValue().toString().getBytes(StandardCharsets.UTF_8), "beta").bundle()));
        return BundleSet.of(out);
    }

    /** The JWKS of only the jwt-svid keys, as the Workload API serves JWT bundles. */
    private static String jwtOnly(String bundleJson) throws IOException {
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(bundleJson);
        var keys = JSON.createArrayNode();
        root.path("keys").forEach(k -> {
            if ("jwt-svid".equals(k.path("use").asText())) {
                keys.add(k);
            }
        });
        root.set("keys", keys);
        return root.toString();
    }

    private void configure(ClusterSpec c, Map<String, String> p) {
        if (c.name().equals("alpha")) {
            try {
                Files.createDirectories(c.dir());
                Files.writeString(c.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            p.put("isthmus.admin.bootstrap-token-file", c.dir().resolve("admin.token").toString());
        }
    }
}
