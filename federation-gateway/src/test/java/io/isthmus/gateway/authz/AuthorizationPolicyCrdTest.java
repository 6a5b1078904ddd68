package io.isthmus.gateway.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.PolicyMode;

/** The CRD we ship matches what the informer watches and what the parser accepts, and Terraform ships the same file. */
@EnableKubernetesMockClient(crud = true)
class AuthorizationPolicyCrdTest {
    static final String RESOURCE = "crds/authorizationpolicies.security.isthmus.io.yaml";
    KubernetesClient client;

    static byte[] shipped() throws IOException {
        try (InputStream in = AuthorizationPolicyCrdTest.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            assertThat(in).as(RESOURCE).isNotNull();
            return in.readAllBytes();
        }
    }

    @Test
    void describesWhatTheInformerWatches() throws IOException {
        CustomResourceDefinition crd = new YAMLMapper().readValue(shipped(), CustomResourceDefinition.class);
        assertThat(crd.getMetadata().getName()).isEqualTo("authorizationpolicies.security.isthmus.io");
        assertThat(crd.getSpec().getGroup()).isEqualTo(PolicyCrdSource.CONTEXT.getGroup());
        assertThat(crd.getSpec().getNames().getPlural()).isEqualTo(PolicyCrdSource.CONTEXT.getPlural());
        assertThat(crd.getSpec().getNames().getKind()).isEqualTo(AuthorizationPolicy.KIND);
        assertThat(crd.getSpec().getScope()).isEqualTo("Namespaced");
        CustomResourceDefinitionVersion v = crd.getSpec().getVersions().get(0);
        assertThat(crd.getSpec().getGroup() + "/" + v.getName()).isEqualTo(AuthorizationPolicy.API_VERSION);
        assertThat(v.getSubresources().getStatus()).isNotNull();
        JSONSchemaProps spec = v.getSchema().getOpenAPIV3Schema().getProperties().get("spec");
        assertThat(spec.getProperties().get("action").getEnum()).map(n -> n.asText())
                .containsExactly("ALLOW", "DENY", "AUDIT");
        assertThat(spec.getProperties().get("mode").getEnum()).map(n -> n.asText())
                .containsExactly(Arrays.stream(PolicyMode.values())
                        .map(Enum::name).toArray(String[]::new));
        JSONSchemaProps operation = spec.getProperties().get("rules").getItems().getSchema().getProperties().get("to")
                .getItems().getSchema().getProperties().get("operation");
        List<String> methods = operation.getProperties().get("methods").getItems().getSchema().getEnum().stream()
                .map(n -> n.asText()).toList();
        assertThat(methods).containsExactly("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                "PATCH", "*");
        assertThat(operation.getProperties()).containsOnlyKeys("methods", "notMethods", "paths", "notPaths", "ports",
                "notPorts", "hosts", "notHosts");

        client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
        assertThat(client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName()).get())
                .isNotNull();
    }

    @Test
    void terraformShipsTheSameFile() throws IOException {
        Path copy = Path.of("..", "terraform", "modules", "cluster-gateway", "manifests", "crds",
                "authorizationpolicies.security.isthmus.io.yaml");
        assertThat(Files.readAllBytes(copy)).as("keep %s identical to src/main/resources/%s", copy, RESOURCE)
                .isEqualTo(shipped());
    }
}
