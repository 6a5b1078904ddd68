package io.isthmus.integration.terraform;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.trust.TrustSettingsFactory;
import io.isthmus.integration.support.RenderedGateway;
import io.isthmus.integration.support.RenderedPod;
import io.isthmus.integration.support.Repo;
import io.isthmus.integration.support.Terraform;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * The rotation runbook of the Terraform modules (README "Rotating trust", Terraform), every step rendered with real
 * certificates from a test CA: the federation root through modules/federation-root, the intermediate by generation
 * through cluster-gateway. For each step the pod's CA files are written as the kubelet would and loaded through the
 * gateway's own loader: the step is checked by what the gateway would sign with and which roots it would hold, and by
 * the pod template staying the same in every step (the gateway reloads the files; no step restarts a pod). The
 * module's plan-time check of an intermediate's trust domain is run on real certificates.
 */
class TerraformRotationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path TERRAFORM = Repo.root().resolve("terraform");
    private static final String TRUST_DOMAIN = "aws-east.acme.internal";

    @TempDir
    static Path scratch;

    private static TestCa oldRoot;
    private static TestCa newRoot;
    /** Generations of aws-east's intermediate: two under the old root, one under the new. */
    private static CaCredential g1;
    private static CaCredential g2;
    private static CaCredential g3;
    /** The steps in runbook order, each as rendered. */
    private static final Map<String, Step> steps = new LinkedHashMap<>();

    /** One step: its inputs and the module's outputs. */
    private record Step(String name, List<X509Certificate> roots, Map<String, CaCredential> generations, String active,
            CaCredential expectedSigner, JsonNode outputs) {
        JsonNode statefulSet() {
            return outputs.at("/objects/stateful_set");
        }

        String secretFile(String key) {
            return new String(Base64.getDecoder().decode(outputs.at("/secrets/ca_secret/data").get(key).asText()),
                    StandardCharsets.UTF_8);
        }
    }

    @BeforeAll
    static void renderEveryStep() throws Exception {
        Terraform.requireInstalled();
        oldRoot = TestCa.create();
        newRoot = TestCa.create();
        g1 = oldRoot.intermediate(TRUST_DOMAIN);
        g2 = oldRoot.intermediate(TRUST_DOMAIN);
        g3 = newRoot.intermediate(TRUST_DOMAIN);
        X509Certificate a = oldRoot.rootCertificate();
        X509Certificate b = newRoot.rootCertificate();
        List<StepInput> inputs = List.of(
                // The intermediate: add the next generation next to the active one, switch, drop the old one.
                new StepInput("0 in force", List.of(a), gens("2025-06", g1), "2025-06", g1),
                new StepInput("1 next generation added", List.of(a), gens("2025-06", g1, "2026-01", g2), "2025-06", g1),
                new StepInput("2 switched", List.of(a), gens("2025-06", g1, "2026-01", g2), "2026-01", g2),
                new StepInput("3 old generation dropped", List.of(a), gens("2026-01", g2), "2026-01", g2),
                // The root: the new root next to the old one, the intermediate onto the new root, the old root removed.
                new StepInput("4 new root added", List.of(a, b), gens("2026-01", g2), "2026-01", g2),
                new StepInput("5 generation under the new root added", List.of(a, b), gens("2026-01", g2, "2026-02", g3),
                        "2026-01", g2),
                new StepInput("6 switched to it", List.of(a, b), gens("2026-01", g2, "2026-02", g3), "2026-02", g3),
                new StepInput("7 old generation dropped", List.of(a, b), gens("2026-02", g3), "2026-02", g3),
                new StepInput("8 old root removed", List.of(b), gens("2026-02", g3), "2026-02", g3));
        List<CompletableFuture<Step>> rendering = new ArrayList<>();
        for (StepInput in : inputs) {
            rendering.add(CompletableFuture.supplyAsync(() -> render(in)));
        }
        for (CompletableFuture<Step> f : rendering) {
            Step s = f.join();
            steps.put(s.name(), s);
        }
    }

    private record StepInput(String name, List<X509Certificate> roots, Map<String, CaCredential> generations,
            String active, CaCredential expectedSigner) {
    }

    private static Map<String, CaCredential> gens(Object... nameThenCredential) {
        Map<String, CaCredential> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenCredential.length; i += 2) {
            m.put((String) nameThenCredential[i], (CaCredential) nameThenCredential[i + 1]);
        }
        return m;
    }

    /** federation-root with the step's roots, then cluster-gateway with its output and the step's generations. */
    private static Step render(StepInput in) {
        try {
            String dirName = in.name().replace(' ', '-');
            Path rootDir = Files.createDirectories(scratch.resolve(dirName).resolve("root"));
            ObjectNode rootVars = JSON.createObjectNode();
            in.roots().forEach(r -> rootVars.withArray("root_certificates_pem").add(Pem.write(r)));
            JsonNode root = RenderedGateway.apply(new Terraform(TERRAFORM.resolve("modules/federation-root"), rootDir),
                    rootVars);
            ObjectNode vars = JSON.createObjectNode().put("root_certificate_pem", root.get("root_certificate_pem").asText())
                    .put("active_intermediate_generation", in.active());
            ObjectNode generations = vars.putObject("intermediate_generations");
            in.generations().forEach((name, g) -> generations.putObject(name)
                    .put("certificate_pem", Pem.write(g.chain().toArray()))
                    .put("private_key_pem", Pem.writePrivateKey(g.key())));
            Path gatewayDir = Files.createDirectories(scratch.resolve(dirName).resolve("gateway"));
            JsonNode outputs = RenderedGateway.apply(new Terraform(TERRAFORM.resolve("test/render"), gatewayDir), vars);
            return new Step(in.name(), in.roots(), in.generations(), in.active(), in.expectedSigner(), outputs);
        } catch (Exception e) {
            throw new IllegalStateException("rendering step " + in.name() + " failed: " + e.getMessage(), e);
        }
    }

    /** The trust material a pod of this step would load: its CA volume written as the kubelet does, then read. */
    private static TrustSettings loadedByThePod(Step step) throws Exception {
        Path fakeRoot = scratch.resolve("pod-" + step.name().replace(' ', '-'));
        Map<String, String> files = new HashMap<>();
        step.outputs().at("/secrets/ca_secret/data").fieldNames().forEachRemaining(k -> files.put(k, step.secretFile(k)));
        RenderedPod.materialiseCaVolume(step.statefulSet(), fakeRoot, files);
        Map<String, String> props = RenderedPod.relocate(
                RenderedPod.properties(step.outputs().get("application_properties").asText()), fakeRoot);
        GatewayConfig config = RenderedPod.gatewayConfig(props).getConfigMapping(GatewayConfig.class);
        return TrustSettingsFactory.from(config, Clock.systemUTC());
    }

    @Test
    void eachStepGivesTheGatewayTheActiveGenerationUnderTheRootsItHolds() throws Exception {
        for (Step step : steps.values()) {
            TrustSettings loaded = loadedByThePod(step);
            assertThat(Certificates.serialHex(loaded.intermediate().certificate())).as("the signer in step %s", step.name())
                    .isEqualTo(Certificates.serialHex(step.expectedSigner().certificate()));
            assertThat(loaded.intermediate().key()).as("the key in step %s", step.name())
                    .isEqualTo(step.expectedSigner().key());
            assertThat(loaded.roots().certificates()).as("the roots in step %s", step.name())
                    .containsExactlyElementsOf(step.roots());
            // What the gateway checks before it takes an intermediate: a CA of its trust domain under a root it holds.
            new AuthorityValidator(loaded.roots(), Duration.ofSeconds(30)).validate(loaded.intermediate().certificate(),
                    TrustDomain.parse(TRUST_DOMAIN), Clock.systemUTC().instant());
            JsonNode generation = step.outputs().get("intermediate_generation");
            assertThat(generation.get("active").asText()).isEqualTo(step.active());
            assertThat(step.secretFile("intermediate.key")).as("only the active generation's key is in the Secret")
                    .isEqualTo(Pem.writePrivateKey(step.expectedSigner().key()));
        }
    }

    @Test
    void noStepChangesThePodTemplateOrAnyObjectButTheCaSecret() {
        Step first = steps.values().iterator().next();
        for (Step step : steps.values()) {
            assertThat(step.statefulSet()).as("the StatefulSet in step %s (a change would restart the gateways, and a "
                    + "restarted gateway signs with the new intermediate before any peer holds it)", step.name())
                    .isEqualTo(first.statefulSet());
            assertThat(step.outputs().get("objects")).as("every object but the Secrets in step %s", step.name())
                    .isEqualTo(first.outputs().get("objects"));
        }
        // The CA Secret changes exactly where the runbook says the gateway must see a change.
        List<String> secretChanges = new ArrayList<>();
        Step before = null;
        for (Step step : steps.values()) {
            if (before != null && !step.outputs().at("/secrets/ca_secret").equals(before.outputs().at("/secrets/ca_secret"))) {
                secretChanges.add(step.name());
            }
            before = step;
        }
        assertThat(secretChanges).containsExactly("2 switched", "4 new root added", "6 switched to it",
                "8 old root removed");
    }

    @Test
    void anIntermediateOfAnotherTrustDomainIsRefusedAtPlanAndTheRealOneIsNot() throws Exception {
        Path dir = Files.createDirectories(scratch.resolve("refusals"));
        Terraform tf = new Terraform(TERRAFORM.resolve("test/render"), dir);
        assertThat(tf.run("init", "-input=false", "-no-color", "-backend=false").exit()).isZero();
        Map<String, CaCredential> candidates = new LinkedHashMap<>();
        candidates.put("gcp-west.acme.internal", oldRoot.intermediate("gcp-west.acme.internal"));
        // Longer names that end in (or start with) this trust domain: the constraint's length byte tells them apart.
        candidates.put("us-aws-east.acme.internal", oldRoot.intermediate("us-aws-east.acme.internal"));
        candidates.put("aws-east.acme.internal.evil", oldRoot.intermediate("aws-east.acme.internal.evil"));
        for (var c : candidates.entrySet()) {
            Terraform.Result plan = plan(tf, gens("2026-01", g2, "2026-02", c.getValue()));
            assertThat(plan.exit()).as("an intermediate of %s%n%s", c.getKey(), plan.output()).isNotZero();
            assertThat(plan.output().replace("│", " ").replaceAll("\\s+", " "))
                    .contains("has no URI name constraint for aws-east.acme.internal")
                    .contains("bin/isthmus ca issue-intermediate --trust-domain aws-east.acme.internal");
        }
        Terraform.Result control = plan(tf, gens("2026-01", g2, "2026-02", oldRoot.intermediate(TRUST_DOMAIN)));
        assertThat(control.exit()).as("control: this trust domain's next intermediate%n%s", control.output()).isZero();
    }

    private static Terraform.Result plan(Terraform tf, Map<String, CaCredential> generations) throws Exception {
        ObjectNode vars = JSON.createObjectNode().put("root_certificate_pem", Pem.write(oldRoot.rootCertificate()))
                .put("active_intermediate_generation", "2026-01");
        ObjectNode g = vars.putObject("intermediate_generations");
        generations.forEach((name, c) -> g.putObject(name).put("certificate_pem", Pem.write(c.chain().toArray()))
                .put("private_key_pem", Pem.writePrivateKey(c.key())));
        return tf.run("plan", "-input=false", "-no-color", "-state=" + tf.statePath(),
                "-var-file=" + tf.varFile(JSON.writeValueAsString(vars)));
    }
}
