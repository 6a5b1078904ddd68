package io.isthmus.integration.terraform;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.integration.support.Repo;
import io.isthmus.integration.support.Terraform;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.membership.Member;
import io.isthmus.trust.membership.MembershipVerdict;
import io.isthmus.trust.membership.MembershipVerifier;
import io.isthmus.trust.membership.SignedMembership;
import io.isthmus.trust.x509.Pem;

/**
 * The membership document from Terraform (offline, provider-free): the example's one list of clusters renders the
 * payload, the CLI signs it where the root key is kept, and every gateway's verifier takes it. Growing the example to
 * four clusters is one more entry in that list; the next signature takes the next version by itself. The
 * federation-root module renders the same payload from its {@code clusters} input, and bad lists fail at plan.
 */
class MembershipTerraformTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path TERRAFORM = Repo.root().resolve("terraform");

    @TempDir
    static Path scratch;

    @BeforeAll
    static void root() {
        Terraform.requireInstalled();
        assertThat(IsthmusCli.run("ca", "init-root", "--out", scratch.resolve("fed").toString())).isZero();
    }

    private static JsonNode apply(Path module, String name, ObjectNode vars) throws Exception {
        Path dir = Files.createDirectories(scratch.resolve(name));
        Terraform tf = new Terraform(module, dir);
        assertThat(tf.run("init", "-input=false", "-no-color", "-backend=false").exit()).isZero();
        Terraform.Result apply = tf.run("apply", "-auto-approve", "-input=false", "-no-color", "-state=" + tf.statePath(),
                "-var-file=" + tf.varFile(JSON.writeValueAsString(vars)));
        assertThat(apply.exit()).as(apply.output()).isZero();
        Terraform.Result out = tf.run("output", "-json", "-state=" + tf.statePath());
        assertThat(out.exit()).as(out.output()).isZero();
        ObjectNode values = JSON.createObjectNode();
        JSON.readTree(out.output()).fields().forEachRemaining(e -> values.set(e.getKey(), e.getValue().get("value")));
        return values;
    }

    /** {@code isthmus federation sign}, where the root key is; returns the verified document. */
    private static SignedMembership sign(String payload, String current, String out) throws Exception {
        Path file = Files.writeString(scratch.resolve(out + ".json"), payload);
        List<String> args = new java.util.ArrayList<>(List.of("federation", "sign", "--payload", file.toString(),
                "--root-cert", scratch.resolve("fed/root.pem").toString(), "--root-key",
                scratch.resolve("fed/root.key").toString(), "--out", scratch.resolve(out).toString()));
        if (current != null) {
            args.addAll(List.of("--current", scratch.resolve(current).toString()));
        }
        assertThat(IsthmusCli.run(args.toArray(String[]::new))).isZero();
        MembershipVerdict v = new MembershipVerifier().verify(Files.readString(scratch.resolve(out)),
                new FederationRoots(Pem.readCertificates(scratch.resolve("fed/root.pem"))), OptionalLong.empty());
        assertThat(v).isInstanceOf(MembershipVerdict.Accepted.class);
        return ((MembershipVerdict.Accepted) v).document();
    }

    @Test
    void theExampleRendersItsMembershipFromItsOneListAndGrowsToFourByOneEntry() throws Exception {
        Path federation = TERRAFORM.resolve("examples/three-clusters/federation");
        JsonNode three = apply(federation, "three", JSON.createObjectNode());
        SignedMembership v1 = sign(three.get("membership_json").asText(), null, "v1.jws");
        assertThat(v1.version()).isEqualTo(1);
        assertThat(v1.membership().members()).extracting(Member::name).containsExactly("aws-east", "gcp-west", "onprem");
        Member aws = v1.membership().member("aws-east").orElseThrow();
        // The same addresses the clusters' static peers get from the same list.
        assertThat(aws.bundleEndpoint()).hasToString(three.at("/peers/onprem/aws-east/bundle_endpoint_url").asText());
        assertThat(aws.bridgeAddresses()).extracting(Object::toString)
                .containsExactly(three.at("/peers/onprem/aws-east/cross_site_addresses/0").asText());
        assertThat(aws.ingressAddress()).hasToString("gw.aws-east.acme.example:15443");
        assertThat(aws.gatewayIds()).extracting(Object::toString)
                .containsExactly("spiffe://aws-east.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        assertThat(aws.region()).isEqualTo("us-east-1");

        // Four: the same list with one more entry.
        ObjectNode vars = JSON.createObjectNode();
        ObjectNode clusters = vars.putObject("clusters");
        clusters.set("aws-east", cluster("aws-east", "gw.aws-east.acme.example", "eks", "203.0.113.0/28", "us-east-1"));
        clusters.set("gcp-west", cluster("gcp-west", "gw.gcp-west.acme.example", "gke", "198.51.100.0/28", "us-west1")
                .put("load_balancer_ip", "198.51.100.20"));
        clusters.set("onprem", cluster("onprem", "gw.onprem.acme.example", "metallb", "192.0.2.0/28", "dc-frankfurt")
                .put("load_balancer_ip", "192.0.2.10"));
        clusters.set("azure-north", cluster("azure-north", "gw.azure-north.acme.example", "eks", "203.0.113.64/28",
                "northeurope"));
        JsonNode four = apply(federation, "four", vars);
        SignedMembership v2 = sign(four.get("membership_json").asText(), "v1.jws", "v2.jws");
        assertThat(v2.version()).as("the version after the one in force").isEqualTo(2);
        assertThat(v2.membership().members()).extracting(Member::name)
                .containsExactly("aws-east", "azure-north", "gcp-west", "onprem");
        assertThat(MembershipVerifier.added(java.util.Optional.of(v1.membership()), v2.membership()))
                .extracting(Member::name).containsExactly("azure-north");
        assertThat(four.at("/peers/aws-east").has("azure-north")).isTrue();
    }

    private static ObjectNode cluster(String name, String host, String lb, String egress, String region) {
        ObjectNode c = JSON.createObjectNode().put("trust_domain", name + ".acme.internal").put("public_host", host)
                .put("load_balancer", lb).put("region", region);
        c.putArray("egress_cidrs").add(egress);
        return c;
    }

    @Test
    void theFederationRootModuleRendersTheSamePayloadAndRefusesABadList() throws Exception {
        Path module = TERRAFORM.resolve("modules/federation-root");
        ObjectNode vars = JSON.createObjectNode();
        vars.putArray("root_certificates_pem").add(Files.readString(scratch.resolve("fed/root.pem")));
        JsonNode none = apply(module, "root-only", vars);
        assertThat(none.path("membership_json").isMissingNode() || none.get("membership_json").isNull())
                .as("no clusters listed: no membership (a null output is left out)").isTrue();

        ObjectNode clusters = vars.putObject("clusters");
        clusters.putObject("east").put("trust_domain", "east.acme.internal")
                .put("bundle_endpoint_url", "https://gw-east:8443/").put("ingress_address", "gw-east:15443")
                .putArray("bridge_addresses").add("gw-east:7900");
        JsonNode one = apply(module, "root-and-east", vars);
        assertThat(sign(one.get("membership_json").asText(), null, "east.jws").membership().members())
                .extracting(Member::name).containsExactly("east");

        clusters.putObject("west").put("trust_domain", "east.acme.internal")
                .put("bundle_endpoint_url", "https://gw-west:8443/").put("ingress_address", "gw-west:15443")
                .putArray("bridge_addresses").add("gw-west:7900");
        Path dir = Files.createDirectories(scratch.resolve("duplicate"));
        Terraform tf = new Terraform(module, dir);
        assertThat(tf.run("init", "-input=false", "-no-color", "-backend=false").exit()).isZero();
        Terraform.Result refused = tf.run("plan", "-input=false", "-no-color",
                "-var-file=" + tf.varFile(JSON.writeValueAsString(vars)));
        assertThat(refused.exit()).isNotZero();
        assertThat(refused.output().replace("│", " ").replaceAll("\\s+", " ")).contains("Two clusters have the same trust_domain");
    }
}
