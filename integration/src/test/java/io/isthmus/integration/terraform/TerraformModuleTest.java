package io.isthmus.integration.terraform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.isthmus.gateway.authz.AuthzConfig;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.enrolment.AdminConfig;
import io.isthmus.gateway.proxy.ProxyConfig;
import io.isthmus.gateway.registry.RegistryConfig;
import io.isthmus.gateway.trust.TrustSettingsFactory;
import io.isthmus.integration.support.ApiServerSemantics;
import io.isthmus.integration.support.RenderedGateway;
import io.isthmus.integration.support.RenderedPod;
import io.isthmus.integration.support.Repo;
import io.isthmus.integration.support.StrictSchema;
import io.isthmus.integration.support.Terraform;
import io.isthmus.registry.xsite.AdvertisedBridge;
import io.isthmus.registry.xsite.SiteSettings;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Pem;
import io.smallrye.config.SmallRyeConfig;

/**
 * The Terraform modules, checked offline (no provider can be downloaded here, so the parts that apply objects
 * through the kubernetes provider are not run): formatting; the input validations (terraform test); the objects the
 * cluster-gateway module renders, checked against what the gateway actually reads (config keys through the gateway's
 * own @ConfigMapping, ports, file paths, the CA files loaded by the gateway's own loader), against the Kubernetes
 * schema (fabric8's typed model, no unknown field), and applied to the fabric8 mock API server with the API server's
 * write-only Secret.stringData; variants of the render for what must change (or not) when an input changes; the
 * federation-root module and the example's federation description.
 */
class TerraformModuleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** quarkus.* keys the module may set: the ones the gateway's application.properties relies on. */
    private static final Set<String> QUARKUS_KEYS = Set.of("quarkus.http.port", "quarkus.http.ssl-port",
            "quarkus.management.port", "quarkus.shutdown.delay", "quarkus.shutdown.timeout");
    private static final Path TERRAFORM = Repo.root().resolve("terraform");

    @TempDir
    static Path scratch;

    private static TestCa pki;
    private static CaCredential intermediate;
    /** The fixture's render. */
    private static Rendered baseline;
    /** ... with another federation root and intermediate (a CA change). */
    private static Rendered otherCa;
    /** ... with one more peer (a configuration change). */
    private static Rendered newPeer;
    /**
     * ... with the intermediate in an existing Secret, another cluster domain, its own namespace (not created by the
     * module) and no MCS CRDs.
     */
    private static Rendered fromSecret;

    /** One render of the fixture: its outputs, the config it sets, and the state file it left. */
    private record Rendered(JsonNode outputs, Map<String, String> properties, Path state) {
        JsonNode object(String role) {
            JsonNode o = outputs.get("objects").get(role);
            assertThat(o).as("rendered object %s", role).isNotNull();
            return o;
        }

        JsonNode secret(String role) {
            JsonNode o = outputs.get("secrets").get(role);
            assertThat(o).as("rendered secret %s", role).isNotNull();
            return o;
        }

        JsonNode podSpec() {
            return object("stateful_set").at("/spec/template/spec");
        }

        JsonNode container() {
            return podSpec().at("/containers/0");
        }

        Stream<JsonNode> allObjects() {
            List<JsonNode> all = new ArrayList<>();
            outputs.get("crds").forEach(all::add);
            outputs.get("objects").forEach(all::add);
            outputs.get("secrets").forEach(all::add);
            return all.stream();
        }
    }

    @BeforeAll
    static void render() throws Exception {
        Terraform.requireInstalled();
        pki = TestCa.create();
        intermediate = pki.intermediate("aws-east.acme.internal");
        TestCa otherPki = TestCa.create();
        ObjectNode inline = caVars(pki, intermediate);
        ObjectNode peer = caVars(pki, intermediate);
        peer.putObject("extra_peers").putObject("dc-west").put("trust_domain", "dc-west.acme.internal")
                .put("bundle_endpoint_url", "https://gw.dc-west.example:8443/");
        ObjectNode secret = JSON.createObjectNode().put("root_certificate_pem", Pem.write(pki.rootCertificate()))
                .put("cluster_domain", "corp.internal").put("namespace", "mesh-gateway").put("create_namespace", false)
                .put("install_mcs_crds", false);
        secret.putObject("intermediate_secret").put("name", "aws-east-intermediate");
        // Four independent renders: run them side by side.
        var a = CompletableFuture.supplyAsync(() -> renderFixture("baseline", inline));
        var b = CompletableFuture.supplyAsync(() -> renderFixture("other-ca", caVars(otherPki,
                otherPki.intermediate("aws-east.acme.internal"))));
        var c = CompletableFuture.supplyAsync(() -> renderFixture("new-peer", peer));
        var d = CompletableFuture.supplyAsync(() -> renderFixture("from-secret", secret));
        baseline = a.join();
        otherCa = b.join();
        newPeer = c.join();
        fromSecret = d.join();
    }

    private static ObjectNode caVars(TestCa ca, CaCredential cluster) {
        return JSON.createObjectNode()
                .put("root_certificate_pem", Pem.write(ca.rootCertificate()))
                .put("intermediate_certificate_pem", Pem.write(cluster.certificate()))
                .put("intermediate_private_key_pem", Pem.writePrivateKey(cluster.key()));
    }

    private static Rendered renderFixture(String name, ObjectNode vars) {
        try {
            Path dir = Files.createDirectories(scratch.resolve(name));
            JsonNode outputs = RenderedGateway.apply(new Terraform(TERRAFORM.resolve("test/render"), dir), vars);
            return new Rendered(outputs, RenderedPod.properties(outputs.get("application_properties").asText()),
                    dir.resolve("terraform.tfstate"));
        } catch (Exception e) {
            throw new IllegalStateException("rendering " + name + " failed: " + e.getMessage(), e);
        }
    }


    private static Map<String, Integer> containerPorts(Rendered r) {
        Map<String, Integer> ports = new HashMap<>();
        r.container().get("ports").forEach(p -> ports.put(p.get("name").asText(), p.get("containerPort").asInt()));
        return ports;
    }

    private static List<String> servicePortNames(Rendered r, String role) {
        List<String> names = new ArrayList<>();
        r.object(role).at("/spec/ports").forEach(p -> names.add(p.get("name").asText()));
        return names;
    }

    @Test
    void modulesAreFormatted() throws Exception {
        Terraform.Result fmt = new Terraform(TERRAFORM, scratch).run("fmt", "-check", "-recursive", "-no-color");
        assertThat(fmt.exit()).as("terraform fmt -check -recursive found unformatted files:%n%s", fmt.output()).isZero();
    }

    @Test
    void everyConfigKeyTheModuleSetsIsOneTheGatewayReads() {
        Map<String, String> properties = baseline.properties();
        List<String> unknownQuarkus = properties.keySet().stream()
                .filter(k -> k.startsWith("quarkus.") && !QUARKUS_KEYS.contains(k)).toList();
        assertThat(unknownQuarkus).as("quarkus.* keys the gateway does not rely on").isEmpty();
        assertThat(properties.keySet()).allMatch(k -> k.startsWith("isthmus.") || k.startsWith("quarkus."));
        GatewayConfig config = RenderedPod.gatewayConfig(properties).getConfigMapping(GatewayConfig.class);
        assertThat(config.trustDomain()).isEqualTo("aws-east.acme.internal");
        assertThat(config.clusterName()).contains("aws-east");
        assertThat(config.peers()).containsOnlyKeys("gcp-west", "onprem");
        assertThat(config.peers().get("onprem").endpointSpiffeId())
                .contains("spiffe://onprem.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        SmallRyeConfig all = RenderedPod.gatewayConfig(properties);
        RegistryConfig registry = all.getConfigMapping(RegistryConfig.class);
        assertThat(registry.site()).contains("aws-east");
        assertThat(registry.bindHost()).isEqualTo("10.4.0.7");
        assertThat(registry.peers()).containsOnlyKeys("onprem");
        assertThat(registry.peers().get("onprem").trustDomain()).isEqualTo("onprem.acme.internal");
        assertThat(registry.peers().get("onprem").bridgeAddresses()).containsExactly("gw.onprem.example:7900");
        assertThat(registry.ingressAddress()).contains("gw.aws-east.example:15443");
        assertThat(registry.locality().region()).contains("us-east-1");
        assertThat(registry.kubernetes().enabled()).isTrue();
        // The replicas find each other by DNS through the headless replicas Service, not a static list.
        JsonNode replicas = baseline.object("replicas_service").get("metadata");
        String replicasFqdn = replicas.get("name").asText() + "." + replicas.get("namespace").asText() + ".svc.cluster.local";
        assertThat(registry.localDnsQuery()).contains(replicasFqdn);
        assertThat(registry.localMembers()).isEmpty();
        assertThat(registry.localPort()).isEqualTo(7800);
        SiteSettings site = new SiteSettings(registry.site().orElseThrow(), new TrustDomain(config.trustDomain()),
                registry.bindHost(), registry.localPort(), List.of(), registry.xsitePort(), Map.of(),
                registry.localDnsQuery());
        assertThat(site.localDnsQuery()).contains(replicasFqdn);
        ProxyConfig proxy = all.getConfigMapping(ProxyConfig.class);
        assertThat(proxy.locality().zone()).contains("us-east-1a");
        assertThat(proxy.kubernetesBackends()).isTrue();
        assertThat(all.getConfigMapping(AuthzConfig.class).source().toString()).isEqualToIgnoringCase("kubernetes");
        assertThat(all.getConfigMapping(AdminConfig.class).spiffeIds())
                .contains(List.of("spiffe://aws-east.acme.internal/ns/ops/sa/admin"));
    }

    @Test
    void aRenamedFeatureKeyIsCaughtToo() {
        Map<String, String> drifted = new LinkedHashMap<>(baseline.properties());
        drifted.put("isthmus.proxy.ingress.listen-port", drifted.remove("isthmus.proxy.ingress.port"));
        assertThatThrownBy(() -> RenderedPod.gatewayConfig(drifted)).hasMessageContaining("isthmus.proxy.ingress.listen-port");
    }

    @Test
    void aRenamedKeyIsCaughtByTheSameCheck() {
        // The check above is only worth something if a drift fails it: rename one key as a refactoring might.
        Map<String, String> drifted = new LinkedHashMap<>(baseline.properties());
        drifted.put("isthmus.bundle-endpoint.listen-port", drifted.remove("isthmus.bundle-endpoint.port"));
        assertThatThrownBy(() -> RenderedPod.gatewayConfig(drifted).getConfigMapping(GatewayConfig.class))
                .hasMessageContaining("isthmus.bundle-endpoint.listen-port");
    }

    @Test
    void portsTheObjectsExposeAreThePortsTheConfigSets() {
        Map<String, String> properties = baseline.properties();
        GatewayConfig config = RenderedPod.gatewayConfig(properties).getConfigMapping(GatewayConfig.class);
        Map<String, Integer> containerPorts = containerPorts(baseline);
        JsonNode container = baseline.container();
        assertThat(containerPorts.get("bundle")).isEqualTo(config.bundleEndpoint().port());
        assertThat(containerPorts.get("admin")).isEqualTo(Integer.parseInt(properties.get("quarkus.http.ssl-port")));
        SmallRyeConfig all = RenderedPod.gatewayConfig(properties);
        ProxyConfig proxy = all.getConfigMapping(ProxyConfig.class);
        assertThat(containerPorts.get("ingress")).isEqualTo(proxy.ingress().port());
        assertThat(containerPorts.get("egress")).isEqualTo(proxy.egress().port());
        RegistryConfig registry = all.getConfigMapping(RegistryConfig.class);
        assertThat(containerPorts.get("xsite")).isEqualTo(registry.xsitePort());
        assertThat(containerPorts.get("xsite-master")).isEqualTo(registry.xsiteMasterPort());
        // DNS discovery dials each replica's pod IP at local-port: the container must expose exactly that port, and
        // the headless Service must list replicas before they are ready (they become ready after joining).
        assertThat(containerPorts.get("local-cluster")).isEqualTo(registry.localPort());
        JsonNode replicas = baseline.object("replicas_service");
        assertThat(replicas.at("/spec/clusterIP").asText()).isEqualTo("None");
        assertThat(replicas.at("/spec/publishNotReadyAddresses").asBoolean()).isTrue();
        assertThat(replicas.at("/spec/ports/0/targetPort").asText()).isEqualTo("local-cluster");
        assertThat(replicas.at("/spec/ports/0/port").asInt()).isEqualTo(registry.localPort());
        assertThat(replicas.at("/spec/selector")).isEqualTo(baseline.object("stateful_set").at("/spec/selector/matchLabels"));
        assertThat(baseline.object("stateful_set").at("/spec/serviceName").asText())
                .isEqualTo(replicas.at("/metadata/name").asText());
        assertThat(containerPorts.get("management")).isEqualTo(Integer.parseInt(properties.get("quarkus.management.port")));
        assertThat(container.at("/readinessProbe/httpGet/port").asText()).isEqualTo("management");
        assertThat(container.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/q/health/ready");
        assertThat(container.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/q/health/live");
        // Every Service port targets a named container port that exists.
        for (String service : List.of("public_service", "admin_service", "egress_service", "replicas_service")) {
            baseline.object(service).at("/spec/ports").forEach(p -> assertThat(containerPorts)
                    .as("%s targets container port %s", service, p.get("targetPort").asText())
                    .containsKey(p.get("targetPort").asText()));
        }
        assertThat(baseline.object("public_service").at("/spec/type").asText()).isEqualTo("LoadBalancer");
        assertThat(baseline.object("egress_service").at("/spec/type").asText()).isEqualTo("ClusterIP");
        assertThat(baseline.object("stateful_set").at("/spec/replicas").asInt()).isEqualTo(2);
        assertThat(baseline.object("pod_disruption_budget").at("/spec/minAvailable").asInt()).isEqualTo(1);
    }

    @Test
    void theCaFilesAndConfigLoadThroughTheGatewaysOwnLoader() throws Exception {
        // Materialise the Secret and the ConfigMap as the StatefulSet mounts them, under a temp root.
        Path fakeRoot = scratch.resolve("pod");
        Map<String, String> files = new HashMap<>();
        baseline.secret("ca_secret").get("data").fields().forEachRemaining(e -> files.put(e.getKey(), decode(e.getValue())));
        Path caDir = RenderedPod.materialiseCaVolume(baseline.object("stateful_set"), fakeRoot, files);
        assertThat(caDir).isEqualTo(fakeRoot.resolve("etc/isthmus/ca"));
        Map<String, String> relocated = RenderedPod.relocate(baseline.properties(), fakeRoot);
        SmallRyeConfig relocatedConfig = RenderedPod.gatewayConfig(relocated);
        // The admin token file the config names is the one the admin Secret mounts.
        Path adminToken = relocatedConfig.getConfigMapping(AdminConfig.class).bootstrapTokenFile().orElseThrow();
        assertThat(adminToken.toString()).isEqualTo(fakeRoot + "/etc/isthmus/admin/admin.token");
        assertThat(decode(baseline.secret("admin_secret").at("/data/admin.token")))
                .isEqualTo("test-admin-token-0123456789abcdef0123456789");
        assertThat(baseline.container().get("volumeMounts").findValuesAsText("mountPath")).contains("/etc/isthmus/admin");
        assertLoads(relocatedConfig.getConfigMapping(GatewayConfig.class), "isthmus-system");
    }

    private static void assertLoads(GatewayConfig config, String namespace) throws Exception {
        TrustSettings settings = TrustSettingsFactory.from(config, Clock.systemUTC());
        assertThat(settings.peers()).hasSize(2);
        assertThat(settings.gatewayId().toString())
                .isEqualTo("spiffe://aws-east.acme.internal/ns/" + namespace + "/sa/isthmus-gateway");
        new AuthorityValidator(settings.roots(), Duration.ofSeconds(30)).validate(settings.intermediate().certificate(),
                settings.trustDomain(), Clock.systemUTC().instant());
    }

    private static String decode(JsonNode base64) {
        return new String(Base64.getDecoder().decode(base64.asText()), StandardCharsets.UTF_8);
    }


    // ---- issue 19, finding by finding ----

    @Test
    void secretsAreWrittenAsDataSoTheyReadBackAsAppliedLikeTheProviderChecksAfterApply() throws Exception {
        // 3: the API server never returns stringData; the kubernetes provider compares what it applied with what it
        // reads back and fails the apply on any difference. ApiServerSemantics folds stringData into data, as the API
        // server does.
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new ApiServerSemantics(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        try (KubernetesClient client = server.createClient()) {
            List<String> applied = new ArrayList<>();
            List<String> inconsistent = new ArrayList<>();
            for (JsonNode crd : baseline.outputs().get("crds")) {
                applied.add(applyAndCompare(client, crd, inconsistent));
            }
            applied.add(applyAndCompare(client, baseline.object("namespace"), inconsistent));
            for (String group : List.of("secrets", "objects")) {
                for (var it = baseline.outputs().get(group).fields(); it.hasNext();) {
                    var e = it.next();
                    if (!e.getKey().equals("namespace")) {
                        applied.add(applyAndCompare(client, e.getValue(), inconsistent));
                    }
                }
            }
            assertThat(inconsistent).as("fields that do not read back as applied").isEmpty();
            assertThat(applied).contains("CustomResourceDefinition/serviceexports.multicluster.x-k8s.io",
                    "CustomResourceDefinition/serviceimports.multicluster.x-k8s.io", "Namespace/isthmus-system",
                    "StatefulSet/isthmus-gateway", "Secret/isthmus-gateway-ca", "Secret/isthmus-gateway-admin",
                    "ConfigMap/isthmus-gateway-config", "Service/isthmus-gateway-public", "Service/isthmus-gateway-admin",
                    "Service/isthmus-gateway-egress", "PodDisruptionBudget/isthmus-gateway",
                    "NetworkPolicy/isthmus-gateway", "ClusterRole/isthmus-system-isthmus-gateway",
                    "ServiceAccount/isthmus-gateway");
            var sts = client.apps().statefulSets().inNamespace("isthmus-system").withName("isthmus-gateway").get();
            assertThat(sts.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo("isthmus-gateway");
            // Negative control: a Secret written with stringData does not read back as written.
            ObjectNode withStringData = baseline.secret("admin_secret").deepCopy();
            ((ObjectNode) withStringData.get("metadata")).put("name", "control");
            withStringData.remove("data");
            withStringData.putObject("stringData").put("admin.token", "x".repeat(40));
            List<String> control = new ArrayList<>();
            applyAndCompare(client, withStringData, control);
            assertThat(control).containsExactly("Secret/control: stringData.admin.token was \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\","
                    + " read back missing");
        } finally {
            server.destroy();
        }
    }

    private static String applyAndCompare(KubernetesClient client, JsonNode manifest, List<String> inconsistent)
            throws IOException {
        GenericKubernetesResource resource = JSON.treeToValue(manifest, GenericKubernetesResource.class);
        GenericKubernetesResource created = client.resource(resource).create();
        String id = created.getKind() + "/" + created.getMetadata().getName();
        JsonNode readBack = JSON.valueToTree(client.resource(resource).get());
        compareLeaves(id, "", manifest, readBack, inconsistent);
        return id;
    }

    private static void compareLeaves(String id, String path, JsonNode written, JsonNode read, List<String> out) {
        if (written.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = written.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                compareLeaves(id, path.isEmpty() ? e.getKey() : path + "." + e.getKey(), e.getValue(),
                        read == null ? null : read.get(e.getKey()), out);
            }
        } else if (written.isArray()) {
            for (int i = 0; i < written.size(); i++) {
                compareLeaves(id, path + "[" + i + "]", written.get(i), read == null ? null : read.get(i), out);
            }
        } else if (read == null || !read.asText().equals(written.asText())) {
            out.add(id + ": " + path + " was " + written + ", read back " + (read == null ? "missing" : read.toString()));
        }
    }

    @Test
    void everyRenderedObjectMatchesTheKubernetesSchemaWithNoUnknownField() throws Exception {
        // Issue 18: the CRUD mock stores anything; fabric8's typed model knows the schema of every built-in kind.
        for (Rendered r : List.of(baseline, fromSecret)) {
            r.allObjects().forEach(o -> assertThat(StrictSchema.unknownFields(o.toString()))
                    .as("unknown fields of %s/%s", o.get("kind").asText(), o.at("/metadata/name").asText()).isEmpty());
        }
        // Negative control: one misspelled field is found and named.
        ObjectNode typo = baseline.object("stateful_set").deepCopy();
        ObjectNode container = (ObjectNode) typo.at("/spec/template/spec/containers/0");
        container.set("readinesProbe", container.remove("readinessProbe"));
        assertThat(StrictSchema.unknownFields(typo.toString()))
                .containsExactly("spec.template.spec.containers[0].readinesProbe");
    }

    @Test
    void aConfigChangeRollsThePodsButACaChangeDoesNot() {
        // 2: the gateway reads its configuration at start, so the pod template carries its checksum; the CA files are
        // reloaded by the running gateway (issue 11), so they are kept out of it and a CA change restarts nothing.
        String checksum = baseline.object("stateful_set").at("/spec/template/metadata/annotations/checksum~1config").asText();
        assertThat(checksum).matches("[0-9a-f]{64}");
        assertThat(newPeer.object("stateful_set").at("/spec/template/metadata/annotations/checksum~1config").asText())
                .as("a new peer changes the config, so the pods roll").isNotEqualTo(checksum);
        assertThat(otherCa.object("stateful_set").at("/spec/template"))
                .as("another root and intermediate leave the pod template alone").isEqualTo(baseline.object("stateful_set").at("/spec/template"));
        assertThat(otherCa.secret("ca_secret").get("data")).isNotEqualTo(baseline.secret("ca_secret").get("data"));
    }

    @Test
    void theBridgeAdvertisesThePublicAddressAndEveryReplicaRelaysItToTheSiteMaster() {
        // 1: peers in other networks cannot route to pod IPs; they dial the load balancer, which picks any replica.
        RegistryConfig registry = RenderedPod.gatewayConfig(baseline.properties()).getConfigMapping(RegistryConfig.class);
        assertThat(registry.advertisedBridgeAddress()).contains("gw.aws-east.example:7900");
        AdvertisedBridge bridge = new AdvertisedBridge("gw.aws-east.example", 7900, registry.xsiteMasterPort());
        SiteSettings site = new SiteSettings("aws-east", new TrustDomain("aws-east.acme.internal"), registry.bindHost(),
                registry.localPort(), List.of(), registry.xsitePort(), Map.of(), registry.localDnsQuery(),
                java.util.Optional.of(bridge));
        assertThat(site.advertisedBridge()).contains(bridge);
        // The public port reaches every replica's relay; the site master's own bridge port stays replica to replica.
        assertThat(servicePortNames(baseline, "public_service")).contains("xsite").doesNotContain("xsite-master");
        assertThat(servicePortNames(baseline, "replicas_service")).contains("xsite-master");
        assertThat(containerPorts(baseline)).containsEntry("xsite-master", registry.xsiteMasterPort());
    }

    @Test
    void theFederationRootPublishesCertificatesAndKeepsNoKeyInState() throws Exception {
        // 4: the root is made offline (ca init-root); the module only publishes its certificate(s).
        Path dir = Files.createDirectories(scratch.resolve("federation-root"));
        Terraform tf = new Terraform(TERRAFORM.resolve("modules/federation-root"), dir);
        ObjectNode vars = JSON.createObjectNode();
        vars.putArray("root_certificates_pem").add(Pem.write(pki.rootCertificate()));
        JsonNode out = RenderedGateway.apply(tf, vars);
        assertThat(out.get("root_certificate_pem").asText()).isEqualTo(Pem.write(pki.rootCertificate()));
        assertThat(Files.readString(tf.statePath())).doesNotContain("PRIVATE KEY");
        // A key handed to it is refused before anything is stored.
        vars.putArray("root_certificates_pem").add(Pem.write(pki.rootCertificate()) + Pem.writePrivateKey(intermediate.key()));
        Terraform.Result refused = tf.run("plan", "-input=false", "-no-color", "-var-file=" + tf.varFile(JSON.writeValueAsString(vars)));
        assertThat(refused.exit()).isNotZero();
        assertThat(refused.output().replace("│", " ").replaceAll("\\s+", " ")).contains("the root key stays offline");
        // The throwaway root (tls provider, not runnable offline) says what it is and keeps the RFC 5280 CA profile.
        String throwaway = Files.readString(TERRAFORM.resolve("modules/federation-root/throwaway/main.tf"));
        assertThat(throwaway.replaceAll("[ \\t]+", " ")).contains("prevent_destroy = true").contains("max_path_length = 1")
                .contains("set_subject_key_id = true").contains("early_renewal_hours = var.early_renewal_hours");
    }

    @Test
    void theIntermediateFromAnExistingSecretNeverEntersTheStateAndLoadsInThePod() throws Exception {
        // 5: the key stays in a Secret made outside Terraform; the module maps its keys to the files the gateway reads.
        assertThat(iterable(fromSecret.secret("ca_secret").get("data").fieldNames())).containsExactly("root.pem");
        String keyAsStored = Base64.getEncoder().encodeToString(Pem.writePrivateKey(intermediate.key()).getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(fromSecret.state())).doesNotContain(keyAsStored).doesNotContain("PRIVATE KEY");
        assertThat(Files.readString(baseline.state())).as("control: given inline, the key is in the state")
                .contains(keyAsStored);
        Map<String, String> secrets = new HashMap<>();
        secrets.put("root.pem", Pem.write(pki.rootCertificate()));
        // The existing Secret, as `kubectl create secret tls` makes it.
        secrets.put("aws-east-intermediate/tls.crt", Pem.write(intermediate.chain().toArray()));
        secrets.put("aws-east-intermediate/tls.key", Pem.writePrivateKey(intermediate.key()));
        Path fakeRoot = scratch.resolve("pod-from-secret");
        Path caDir = RenderedPod.materialiseCaVolume(fromSecret.object("stateful_set"), fakeRoot, secrets);
        assertThat(caDir.resolve("intermediate.key")).exists();
        assertLoads(RenderedPod.gatewayConfig(RenderedPod.relocate(fromSecret.properties(), fakeRoot)).getConfigMapping(GatewayConfig.class),
                "mesh-gateway");
    }

    @Test
    void theExampleKeepsEachClusterInItsOwnStateWithPeersAndLoadBalancersFromOneDescription() throws Exception {
        // 5 and 15: one root configuration (and backend) per cluster; the shared, provider-free description gives each
        // its peers and its cloud's load balancer settings.
        Path example = TERRAFORM.resolve("examples/three-clusters");
        for (String cluster : List.of("aws-east", "gcp-west", "onprem")) {
            assertThat(Files.readString(example.resolve(cluster).resolve("main.tf")))
                    .as("%s has its own backend", cluster).containsPattern(Pattern.compile("backend \"[a-z0-9]+\" \\{"))
                    .containsPattern("cluster_name\\s+= \"" + cluster + "\"");
        }
        assertThat(Files.readString(example.resolve("cluster/main.tf"))).contains("intermediate_secret")
                .doesNotContain("intermediate_private_key_pem");
        Path dir = Files.createDirectories(scratch.resolve("example-federation"));
        JsonNode out = RenderedGateway.apply(new Terraform(example.resolve("federation"), dir), JSON.createObjectNode());
        JsonNode peersOfOnprem = out.at("/peers/onprem");
        assertThat(iterable(peersOfOnprem.fieldNames())).containsExactlyInAnyOrder("aws-east", "gcp-west");
        assertThat(peersOfOnprem.at("/aws-east/cross_site_addresses/0").asText()).isEqualTo("gw.aws-east.acme.example:7900");
        assertThat(peersOfOnprem.at("/aws-east/bundle_endpoint_url").asText()).isEqualTo("https://gw.aws-east.acme.example:8443/");
        JsonNode aws = out.at("/load_balancer/aws-east");
        assertThat(aws.get("class").asText()).isEqualTo("service.k8s.aws/nlb");
        assertThat(aws.at("/annotations/service.beta.kubernetes.io~1aws-load-balancer-scheme").asText()).isEqualTo("internet-facing");
        assertThat(aws.get("annotations").toString()).doesNotContain("aws-load-balancer-type");
        assertThat(out.at("/load_balancer/onprem/annotations").fieldNames().next()).startsWith("metallb.io/");
        assertThat(out.at("/load_balancer/gcp-west/ip").asText()).isEqualTo("198.51.100.20");
        // Each cluster admits the other clusters' egress addresses, not its own.
        assertThat(iterable(out.at("/load_balancer/aws-east/source_ranges").elements()).stream().map(JsonNode::asText))
                .containsExactly("192.0.2.0/28", "198.51.100.0/28");
    }

    private static <T> List<T> iterable(Iterator<T> it) {
        List<T> list = new ArrayList<>();
        it.forEachRemaining(list::add);
        return list;
    }

    @Test
    void inputsTheGatewayWouldRefuseAtRunTimeAreRefusedAtPlan() throws Exception {
        // 17: the table is manifests/tests/validation.tftest.hcl (a valid baseline first, then one bad input per run); the
        // intermediate's rotation by generation, step by step and its refusals, is manifests/tests/rotation.tftest.hcl.
        Path dir = Files.createDirectories(scratch.resolve("validation"));
        Terraform tf = new Terraform(TERRAFORM.resolve("modules/cluster-gateway/manifests"), dir);
        Terraform.Result init = tf.run("init", "-input=false", "-no-color", "-backend=false");
        assertThat(init.exit()).as(init.output()).isZero();
        Terraform.Result test = tf.run("test", "-no-color");
        assertThat(test.exit()).as(test.output()).isZero();
        assertThat(test.output()).containsPattern("Success! [0-9]+ passed, 0 failed")
                .contains("tests/validation.tftest.hcl... pass", "tests/rotation.tftest.hcl... pass");
    }

    @Test
    void theAdminApiStaysOffThePublicLoadBalancerAndANetworkPolicyGuardsEachPort() {
        // 6
        assertThat(servicePortNames(baseline, "public_service")).containsExactly("ingress", "bundle", "xsite");
        JsonNode admin = baseline.object("admin_service");
        assertThat(admin.at("/spec/type").asText()).isEqualTo("ClusterIP");
        assertThat(servicePortNames(baseline, "admin_service")).containsExactly("admin");
        JsonNode lb = baseline.object("public_service").get("spec");
        assertThat(lb.at("/loadBalancerSourceRanges/0").asText()).isEqualTo("198.51.100.0/24");
        assertThat(lb.get("loadBalancerClass").asText()).isEqualTo("service.k8s.aws/nlb");
        Map<Integer, JsonNode> fromByPort = new HashMap<>();
        for (JsonNode rule : baseline.object("network_policy").at("/spec/ingress")) {
            rule.get("ports").forEach(p -> fromByPort.put(p.get("port").asInt(), rule.path("from")));
        }
        Map<String, Integer> ports = containerPorts(baseline);
        assertThat(fromByPort.get(ports.get("ingress")).isMissingNode()).as("public ports: from anywhere").isTrue();
        assertThat(fromByPort.get(ports.get("management")).toString()).contains("monitoring").doesNotContain("ipBlock");
        assertThat(fromByPort.get(ports.get("local-cluster")).toString()).contains("podSelector").doesNotContain("namespaceSelector");
        assertThat(fromByPort.get(ports.get("xsite-master"))).isEqualTo(fromByPort.get(ports.get("local-cluster")));
        assertThat(fromByPort).containsKey(ports.get("admin")).containsKey(ports.get("egress"));
    }

    @Test
    void eachReplicaKeepsItsDataOnAVolumeOfItsOwn() {
        // 7
        JsonNode sts = baseline.object("stateful_set");
        assertThat(sts.at("/kind").asText()).isEqualTo("StatefulSet");
        assertThat(sts.at("/spec/volumeClaimTemplates/0/metadata/name").asText()).isEqualTo("data");
        assertThat(sts.at("/spec/volumeClaimTemplates/0/spec/resources/requests/storage").asText()).isEqualTo("1Gi");
        assertThat(baseline.podSpec().get("volumes").findValuesAsText("name")).doesNotContain("data");
        assertThat(baseline.container().get("volumeMounts").toString()).contains("{\"mountPath\":\"/var/lib/isthmus\",\"name\":\"data\"}");
    }

    @Test
    void tokenReviewAcceptsOnlyTokensIssuedForTheGateway() {
        // 8
        AuthzConfig authz = RenderedPod.gatewayConfig(baseline.properties()).getConfigMapping(AuthzConfig.class);
        assertThat(authz.tokenReview().audiences()).contains(List.of("isthmus"));
    }

    @Test
    void replicasNeverShareANodeAndPreferDistinctZones() {
        // 9
        JsonNode anti = baseline.podSpec().at("/affinity/podAntiAffinity");
        assertThat(anti.at("/requiredDuringSchedulingIgnoredDuringExecution/0/topologyKey").asText()).isEqualTo("kubernetes.io/hostname");
        assertThat(anti.at("/preferredDuringSchedulingIgnoredDuringExecution/0/podAffinityTerm/topologyKey").asText())
                .isEqualTo("topology.kubernetes.io/zone");
        assertThat(baseline.podSpec().at("/tolerations/0/key").asText()).isEqualTo("dedicated");
        assertThat(baseline.podSpec().at("/priorityClassName").asText()).isEqualTo("system-cluster-critical");
    }

    @Test
    void aStoppingGatewayDrainsWithinItsGracePeriod() {
        // 10
        Duration delay = Duration.parse("PT" + baseline.properties().get("quarkus.shutdown.delay").toUpperCase());
        Duration timeout = Duration.parse("PT" + baseline.properties().get("quarkus.shutdown.timeout").toUpperCase());
        assertThat(delay).isPositive();
        assertThat(Duration.ofSeconds(baseline.podSpec().get("terminationGracePeriodSeconds").asLong()))
                .isGreaterThan(delay.plus(timeout));
    }

    @Test
    void onlyTheSecretsAreSensitiveSoAPlanShowsEveryOtherChange() {
        // 11: the render fixture passes the module's outputs on as they are marked.
        JsonNode sensitive = baseline.outputs().get("_sensitive");
        assertThat(sensitive.get("objects").asBoolean()).isFalse();
        assertThat(sensitive.get("secrets").asBoolean()).isTrue();
        assertThat(baseline.outputs().get("objects").toString()).doesNotContain("PRIVATE KEY").doesNotContain("admin-token");
        String parent = read(TERRAFORM.resolve("modules/cluster-gateway/main.tf"));
        assertThat(parent).contains("wait {").contains("rollout = var.wait_for_rollout");
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void crdsKeepOtherControllersFieldsAndCanBeLeftToAnotherMcsImplementation() {
        // 12
        assertThat(iterable(fromSecret.outputs().get("crds").fieldNames()))
                .containsExactly("authorizationpolicies.security.isthmus.io");
        JsonNode imports = baseline.outputs().at("/crds/serviceimports.multicluster.x-k8s.io/spec/versions/0/schema/openAPIV3Schema/properties");
        assertThat(imports.at("/spec/x-kubernetes-preserve-unknown-fields").asBoolean()).isTrue();
        assertThat(imports.at("/status/x-kubernetes-preserve-unknown-fields").asBoolean()).isTrue();
        assertThat(read(TERRAFORM.resolve("modules/cluster-gateway/main.tf"))).contains("prevent_destroy = true");
    }

    @Test
    void theGatewayMayWriteServiceImportStatusAndNothingItDoesNotUse() {
        // 13
        List<String> resources = new ArrayList<>();
        baseline.object("cluster_role").get("rules").forEach(r -> r.get("resources").forEach(x -> resources.add(x.asText())));
        assertThat(resources).contains("serviceimports/status").doesNotContain("serviceexports/status");
    }

    @Test
    void endpointsOtherModulesNeedAreOutputsUnderTheClusterDomain() {
        // 14
        JsonNode endpoints = fromSecret.outputs().get("endpoints");
        assertThat(endpoints.get("egress_service").asText()).isEqualTo("isthmus-gateway-egress.mesh-gateway.svc.corp.internal:15001");
        assertThat(endpoints.get("bundle_endpoint_url").asText()).isEqualTo("https://gw.aws-east.example:8443/");
        assertThat(endpoints.get("cross_site_address").asText()).isEqualTo("gw.aws-east.example:7900");
        assertThat(baseline.object("public_service").at("/metadata/annotations/external-dns.alpha.kubernetes.io~1hostname").asText())
                .isEqualTo("gw.aws-east.example");
        assertThat(read(TERRAFORM.resolve("modules/cluster-gateway/outputs.tf"))).doesNotContain("svc.cluster.local");
    }

    @Test
    void theImageIsPinnedAndPulledWithTheGivenSecrets() {
        // 16
        assertThat(baseline.container().get("image").asText()).contains("@sha256:");
        assertThat(baseline.container().get("imagePullPolicy").asText()).isEqualTo("IfNotPresent");
        assertThat(baseline.podSpec().at("/imagePullSecrets/0/name").asText()).isEqualTo("registry-pull");
    }

    @Test
    void theNamespaceEnforcesRestrictedPodSecurityOrIsLeftToThePlatformTeam() {
        // 18
        assertThat(baseline.object("namespace").at("/metadata/labels/pod-security.kubernetes.io~1enforce").asText())
                .isEqualTo("restricted");
        assertThat(fromSecret.outputs().get("objects").has("namespace")).isFalse();
    }

    @Test
    void providerVersionsStayWithinAMajorVersionAndLockFilesAreCommitted() throws Exception {
        // 19: every configuration that names a provider bounds it to one major version.
        try (Stream<Path> files = Files.walk(TERRAFORM)) {
            List<Path> versions = files.filter(p -> p.getFileName().toString().equals("versions.tf")).toList();
            for (Path v : versions) {
                java.util.regex.Matcher m = Pattern.compile("(?m)^\\s*version\\s*=\\s*\"([^\"]+)\"").matcher(Files.readString(v));
                while (m.find()) {
                    assertThat(m.group(1)).as("provider version in %s", v).startsWith("~> ");
                }
            }
        }
        Process p = new ProcessBuilder("git", "check-ignore", "-q",
                "terraform/examples/three-clusters/aws-east/.terraform.lock.hcl").directory(Repo.root().toFile()).start();
        assertThat(p.waitFor()).as("git check-ignore exit: 1 means the lock file is not ignored").isEqualTo(1);
    }

    @Test
    void policiesInTheModulesOwnNamespaceApplyMeshWide() {
        // 21
        // The fixture's variant runs in namespace mesh-gateway: the default root namespace would be isthmus-system,
        // which anyone allowed to create namespaces could claim.
        AuthzConfig authz = RenderedPod.gatewayConfig(fromSecret.properties()).getConfigMapping(AuthzConfig.class);
        assertThat(fromSecret.object("service_account").at("/metadata/namespace").asText()).isEqualTo("mesh-gateway");
        assertThat(authz.rootNamespace()).isEqualTo("mesh-gateway");
    }

    @Test
    void theHeapFollowsTheMemoryLimitAndScratchSpaceIsBounded() {
        // 22
        assertThat(baseline.container().get("env").toString()).contains("-XX:MaxRAMPercentage=70");
        assertThat(baseline.container().at("/resources/requests/ephemeral-storage").asText()).isNotEmpty();
        for (JsonNode v : baseline.podSpec().get("volumes")) {
            if (v.has("emptyDir")) {
                assertThat(v.at("/emptyDir/sizeLimit").asText()).as("emptyDir %s", v.get("name").asText()).isNotEmpty();
            }
        }
    }

    @Test
    void theParentModuleAndTheExamplePlanWithTheKubernetesProviderStubbedOut() throws Exception {
        // The kubernetes provider cannot be installed here. With each kubernetes_manifest replaced by Terraform's
        // built-in terraform_data (and its wait/timeouts blocks dropped), the example's cluster module, the parent
        // module and the manifests plan: every input is wired, every reference and for_each key resolves.
        Path copy = scratch.resolve("stubbed");
        copyFollowingLinks(TERRAFORM, copy);
        for (String module : List.of("modules/cluster-gateway", "examples/three-clusters/cluster")) {
            Path main = copy.resolve(module).resolve("main.tf");
            String text = Files.readString(main).replace("kubernetes_manifest", "terraform_data")
                    .replace("\n  manifest = ", "\n  input = ")
                    .replaceAll("\n  wait \\{[^}]*\\}\n", "\n").replaceAll("\n  timeouts \\{[^}]*\\}\n", "\n");
            Files.writeString(main, text);
            Files.writeString(copy.resolve(module).resolve("versions.tf"), "terraform {\n  required_version = \">= 1.9\"\n}\n");
        }
        Path dir = Files.createDirectories(scratch.resolve("stubbed-run"));
        Terraform tf = new Terraform(copy.resolve("examples/three-clusters/cluster"), dir);
        Terraform.Result init = tf.run("init", "-input=false", "-no-color", "-backend=false");
        assertThat(init.exit()).as(init.output()).isZero();
        ObjectNode vars = JSON.createObjectNode().put("cluster_name", "gcp-west")
                .put("image", "registry.example/isthmus/federation-gateway@sha256:" + "ab".repeat(32))
                .put("root_certificate_pem", Pem.write(pki.rootCertificate()));
        Terraform.Result plan = tf.run("plan", "-input=false", "-no-color", "-var-file=" + tf.varFile(JSON.writeValueAsString(vars)));
        assertThat(plan.exit()).as(plan.output()).isZero();
        assertThat(plan.output()).contains("module.gateway.terraform_data.stateful_set will be created")
                .contains("terraform_data.policy[\"allow-demo-clients.yaml\"] will be created")
                .contains("\"cloud.google.com/l4-rbs\"").containsPattern("Plan: [0-9]+ to add, 0 to change, 0 to destroy");
    }

    private static void copyFollowingLinks(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.toString().contains("/.terraform")) {
                    Files.copy(p, target);
                }
            }
        }
    }

    @AfterAll
    static void noLeftoversInTheRepository() {
        for (String dir : List.of("test/render", "modules/federation-root", "modules/cluster-gateway/manifests",
                "examples/three-clusters/federation")) {
            Path fixture = TERRAFORM.resolve(dir);
            assertThat(fixture.resolve(".terraform")).doesNotExist();
            assertThat(fixture.resolve("terraform.tfstate")).doesNotExist();
        }
    }
}
