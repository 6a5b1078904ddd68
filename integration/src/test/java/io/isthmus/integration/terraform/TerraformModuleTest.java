package io.isthmus.integration.terraform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.StringReader;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.isthmus.gateway.authz.AuthzConfig;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.enrolment.AdminConfig;
import io.isthmus.gateway.enrolment.EnrolmentConfig;
import io.isthmus.gateway.proxy.ProxyConfig;
import io.isthmus.gateway.registry.RegistryConfig;
import io.isthmus.gateway.trust.TrustSettingsFactory;
import io.isthmus.integration.support.RenderedGateway;
import io.isthmus.integration.support.Repo;
import io.isthmus.integration.support.Terraform;
import io.isthmus.registry.xsite.SiteSettings;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.TrustDomain;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * The Terraform modules, checked offline (no provider can be downloaded here): formatting; the objects the
 * cluster-gateway module renders, checked against what the gateway actually reads (config keys through the
 * gateway's own @ConfigMapping, ports, file paths, the CA Secret loaded by the gateway's own loader); and the
 * rendered manifests applied to a Kubernetes mock API server in CRUD mode.
 */
class TerraformModuleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** quarkus.* keys the module may set: the ones the gateway's application.properties relies on. */
    private static final Set<String> QUARKUS_KEYS = Set.of("quarkus.http.port", "quarkus.http.ssl-port",
            "quarkus.management.port");
    /** Every @ConfigMapping of the gateway: together they must consume every isthmus.* key the module writes. */
    private static final List<Class<?>> MAPPINGS = List.of(GatewayConfig.class, RegistryConfig.class, ProxyConfig.class,
            AuthzConfig.class, EnrolmentConfig.class, AdminConfig.class);

    @TempDir
    static Path scratch;

    private static JsonNode outputs;
    private static Map<String, String> properties;

    @BeforeAll
    static void render() throws Exception {
        outputs = RenderedGateway.render(scratch);
        properties = parseProperties(outputs.get("application_properties").asText());
    }

    private static Map<String, String> parseProperties(String text) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(text));
        Map<String, String> map = new TreeMap<>();
        p.forEach((k, v) -> map.put((String) k, (String) v));
        return map;
    }

    private static SmallRyeConfig gatewayConfig(Map<String, String> props) {
        Map<String, String> isthmus = new HashMap<>();
        props.forEach((k, v) -> {
            if (k.startsWith("isthmus.")) {
                isthmus.put(k, v);
            }
        });
        // Quarkus' own Duration converter, so "5m" means what it means in the running gateway. POD_IP is what the
        // Deployment's downward API sets.
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder().addDefaultInterceptors().withValidateUnknown(true)
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withSources(new PropertiesConfigSource(isthmus, "terraform", 500))
                .withSources(new PropertiesConfigSource(Map.of("POD_IP", "10.4.0.7"), "downward-api", 100));
        MAPPINGS.forEach(builder::withMapping);
        return builder.build();
    }

    private static JsonNode object(String role) {
        JsonNode o = outputs.get("objects").get(role);
        assertThat(o).as("rendered object %s", role).isNotNull();
        return o;
    }

    @Test
    void modulesAreFormatted() throws Exception {
        Terraform.Result fmt = new Terraform(Repo.root().resolve("terraform"), scratch).run("fmt", "-check",
                "-recursive", "-no-color");
        assertThat(fmt.exit()).as("terraform fmt -check -recursive found unformatted files:%n%s", fmt.output()).isZero();
    }

    @Test
    void everyConfigKeyTheModuleSetsIsOneTheGatewayReads() {
        List<String> unknownQuarkus = properties.keySet().stream()
                .filter(k -> k.startsWith("quarkus.") && !QUARKUS_KEYS.contains(k)).toList();
        assertThat(unknownQuarkus).as("quarkus.* keys the gateway does not rely on").isEmpty();
        assertThat(properties.keySet()).allMatch(k -> k.startsWith("isthmus.") || k.startsWith("quarkus."));
        GatewayConfig config = gatewayConfig(properties).getConfigMapping(GatewayConfig.class);
        assertThat(config.trustDomain()).isEqualTo("aws-east.acme.internal");
        assertThat(config.clusterName()).contains("aws-east");
        assertThat(config.peers()).containsOnlyKeys("gcp-west", "onprem");
        assertThat(config.peers().get("onprem").endpointSpiffeId())
                .contains("spiffe://onprem.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        SmallRyeConfig all = gatewayConfig(properties);
        RegistryConfig registry = all.getConfigMapping(RegistryConfig.class);
        assertThat(registry.site()).contains("aws-east");
        assertThat(registry.bindHost()).isEqualTo("10.4.0.7");
        assertThat(registry.peers()).containsOnlyKeys("onprem");
        assertThat(registry.peers().get("onprem").trustDomain()).isEqualTo("onprem.acme.internal");
        assertThat(registry.peers().get("onprem").bridgeAddresses()).containsExactly("gw.onprem.example:7900");
        assertThat(registry.ingressAddress()).contains("gw.aws-east.example:15443");
        assertThat(registry.locality().region()).contains("us-east-1");
        assertThat(registry.kubernetes().enabled()).isTrue();
        // The replicas of a Deployment find each other by DNS through the headless replicas Service, not a static list.
        JsonNode replicas = object("replicas_service").get("metadata");
        String replicasFqdn = replicas.get("name").asText() + "." + replicas.get("namespace").asText() + ".svc.cluster.local";
        assertThat(registry.localDnsQuery()).contains(replicasFqdn);
        assertThat(registry.localMembers()).isEmpty();
        assertThat(registry.localPort()).isEqualTo(7800);
        // ... and the registry accepts them together (a DNS name, a fixed local port, no static members).
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
        Map<String, String> drifted = new LinkedHashMap<>(properties);
        drifted.put("isthmus.proxy.ingress.listen-port", drifted.remove("isthmus.proxy.ingress.port"));
        assertThatThrownBy(() -> gatewayConfig(drifted)).hasMessageContaining("isthmus.proxy.ingress.listen-port");
    }

    @Test
    void aRenamedKeyIsCaughtByTheSameCheck() {
        // The check above is only worth something if a drift fails it: rename one key as a refactoring might.
        Map<String, String> drifted = new LinkedHashMap<>(properties);
        drifted.put("isthmus.bundle-endpoint.listen-port", drifted.remove("isthmus.bundle-endpoint.port"));
        assertThatThrownBy(() -> gatewayConfig(drifted).getConfigMapping(GatewayConfig.class))
                .hasMessageContaining("isthmus.bundle-endpoint.listen-port");
    }

    @Test
    void portsTheObjectsExposeAreThePortsTheConfigSets() {
        GatewayConfig config = gatewayConfig(properties).getConfigMapping(GatewayConfig.class);
        Map<String, Integer> containerPorts = new HashMap<>();
        JsonNode container = object("deployment").at("/spec/template/spec/containers/0");
        container.get("ports").forEach(p -> containerPorts.put(p.get("name").asText(), p.get("containerPort").asInt()));
        assertThat(containerPorts.get("bundle")).isEqualTo(config.bundleEndpoint().port());
        assertThat(containerPorts.get("admin")).isEqualTo(Integer.parseInt(properties.get("quarkus.http.ssl-port")));
        SmallRyeConfig all = gatewayConfig(properties);
        ProxyConfig proxy = all.getConfigMapping(ProxyConfig.class);
        assertThat(containerPorts.get("ingress")).isEqualTo(proxy.ingress().port());
        assertThat(containerPorts.get("egress")).isEqualTo(proxy.egress().port());
        RegistryConfig registry = all.getConfigMapping(RegistryConfig.class);
        assertThat(containerPorts.get("xsite")).isEqualTo(registry.xsitePort());
        // DNS discovery dials each replica's pod IP at local-port: the container must expose exactly that port, and
        // the headless Service must list replicas before they are ready (they become ready after joining).
        assertThat(containerPorts.get("local-cluster")).isEqualTo(registry.localPort());
        JsonNode replicas = object("replicas_service");
        assertThat(replicas.at("/spec/clusterIP").asText()).isEqualTo("None");
        assertThat(replicas.at("/spec/publishNotReadyAddresses").asBoolean()).isTrue();
        assertThat(replicas.at("/spec/ports/0/targetPort").asText()).isEqualTo("local-cluster");
        assertThat(replicas.at("/spec/ports/0/port").asInt()).isEqualTo(registry.localPort());
        assertThat(replicas.at("/spec/selector")).isEqualTo(object("deployment").at("/spec/selector/matchLabels"));
        assertThat(containerPorts.get("management")).isEqualTo(Integer.parseInt(properties.get("quarkus.management.port")));
        assertThat(container.at("/readinessProbe/httpGet/port").asText()).isEqualTo("management");
        assertThat(container.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/q/health/ready");
        assertThat(container.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/q/health/live");
        // Every Service port targets a named container port that exists.
        for (String service : List.of("public_service", "egress_service", "replicas_service")) {
            object(service).at("/spec/ports").forEach(p -> assertThat(containerPorts)
                    .as("%s targets container port %s", service, p.get("targetPort").asText())
                    .containsKey(p.get("targetPort").asText()));
        }
        assertThat(object("public_service").at("/spec/type").asText()).isEqualTo("LoadBalancer");
        assertThat(object("egress_service").at("/spec/type").asText()).isEqualTo("ClusterIP");
        assertThat(object("deployment").at("/spec/replicas").asInt()).isEqualTo(2);
        assertThat(object("pod_disruption_budget").at("/spec/minAvailable").asInt()).isEqualTo(1);
    }

    @Test
    void theCaSecretAndConfigLoadThroughTheGatewaysOwnLoader() throws Exception {
        // Materialise the Secret and the ConfigMap as the Deployment mounts them, under a temp root.
        JsonNode secret = object("ca_secret").get("stringData");
        JsonNode mounts = object("deployment").at("/spec/template/spec/containers/0/volumeMounts");
        String caMount = null;
        for (JsonNode m : mounts) {
            if (m.get("name").asText().equals("ca")) {
                caMount = m.get("mountPath").asText();
            }
        }
        assertThat(caMount).isNotNull();
        Path fakeRoot = scratch.resolve("pod");
        Path caDir = fakeRoot.resolve(caMount.substring(1));
        Files.createDirectories(caDir);
        for (var it = secret.fields(); it.hasNext();) {
            var e = it.next();
            Files.writeString(caDir.resolve(e.getKey()), e.getValue().asText());
        }
        Map<String, String> relocated = new HashMap<>();
        properties.forEach((k, v) -> relocated.put(k, v.startsWith("/etc/isthmus/") || v.startsWith("/var/lib/isthmus")
                ? fakeRoot + v : v));
        SmallRyeConfig relocatedConfig = gatewayConfig(relocated);
        GatewayConfig config = relocatedConfig.getConfigMapping(GatewayConfig.class);
        // The admin token file the config names is the one the admin Secret mounts.
        Path adminToken = relocatedConfig.getConfigMapping(AdminConfig.class).bootstrapTokenFile().orElseThrow();
        assertThat(adminToken.toString()).isEqualTo(fakeRoot + "/etc/isthmus/admin/admin.token");
        assertThat(object("admin_secret").at("/stringData/admin.token").asText()).isEqualTo("test-admin-token");
        assertThat(mounts.findValuesAsText("mountPath")).contains("/etc/isthmus/admin");
        TrustSettings settings = TrustSettingsFactory.from(config, Clock.systemUTC());
        assertThat(settings.peers()).hasSize(2);
        assertThat(settings.gatewayId().toString())
                .isEqualTo("spiffe://aws-east.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        new AuthorityValidator(settings.roots(), Duration.ofSeconds(30)).validate(settings.intermediate().certificate(),
                settings.trustDomain(), Clock.systemUTC().instant());
    }

    @Test
    void renderedManifestsApplyToAKubernetesApiServer() throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        try (KubernetesClient client = server.createClient()) {
            List<String> applied = new ArrayList<>();
            for (JsonNode crd : outputs.get("crds")) {
                applied.add(apply(client, crd));
            }
            applied.add(apply(client, object("namespace")));
            for (var it = outputs.get("objects").fields(); it.hasNext();) {
                var e = it.next();
                if (!e.getKey().equals("namespace")) {
                    applied.add(apply(client, e.getValue()));
                }
            }
            assertThat(applied).contains("CustomResourceDefinition/serviceexports.multicluster.x-k8s.io",
                    "CustomResourceDefinition/serviceimports.multicluster.x-k8s.io", "Namespace/isthmus-system",
                    "Deployment/isthmus-gateway", "Secret/isthmus-gateway-ca", "ConfigMap/isthmus-gateway-config",
                    "Service/isthmus-gateway-public", "Service/isthmus-gateway-egress", "PodDisruptionBudget/isthmus-gateway",
                    "ClusterRole/isthmus-system-isthmus-gateway", "ServiceAccount/isthmus-gateway");
            var deployment = client.apps().deployments().inNamespace("isthmus-system").withName("isthmus-gateway").get();
            assertThat(deployment.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo("isthmus-gateway");
            // The MCS CRDs it installs accept a ServiceExport.
            ResourceDefinitionContext exports = new ResourceDefinitionContext.Builder().withGroup("multicluster.x-k8s.io")
                    .withVersion("v1alpha1").withPlural("serviceexports").withKind("ServiceExport").withNamespaced(true).build();
            GenericKubernetesResource export = new GenericKubernetesResource();
            export.setApiVersion("multicluster.x-k8s.io/v1alpha1");
            export.setKind("ServiceExport");
            export.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("payments")
                    .withNamespace("billing").build());
            client.genericKubernetesResources(exports).inNamespace("billing").resource(export).create();
            assertThat(client.genericKubernetesResources(exports).inNamespace("billing").withName("payments").get())
                    .isNotNull();
        } finally {
            server.destroy();
        }
    }

    private static String apply(KubernetesClient client, JsonNode manifest) throws IOException {
        GenericKubernetesResource resource = JSON.treeToValue(manifest, GenericKubernetesResource.class);
        GenericKubernetesResource created = client.resource(resource).create();
        assertThat(created.getMetadata().getName()).isEqualTo(resource.getMetadata().getName());
        return created.getKind() + "/" + created.getMetadata().getName();
    }

    @AfterAll
    static void noLeftoversInTheRepository() {
        Path fixture = Repo.root().resolve("terraform/test/render");
        assertThat(fixture.resolve(".terraform")).doesNotExist();
        assertThat(fixture.resolve("terraform.tfstate")).doesNotExist();
    }
}
