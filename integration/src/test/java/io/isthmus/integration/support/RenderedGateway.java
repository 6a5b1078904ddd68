package io.isthmus.integration.support;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Pem;

/**
 * One cluster's gateway objects as the cluster-gateway module renders them (fixture terraform/test/render, applied
 * offline with a fresh test PKI): the outputs by name, each its value.
 */
public final class RenderedGateway {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RenderedGateway() {
    }

    /** Runs terraform init/apply/output on the fixture with {@code scratch} for its data and state. */
    public static JsonNode render(Path scratch) throws Exception {
        return render(scratch, vars -> { });
    }

    /** As {@link #render(Path)}, with the fixture's variables as {@code more} sets them (e.g. drain_delay_seconds). */
    public static JsonNode render(Path scratch, java.util.function.Consumer<ObjectNode> more) throws Exception {
        Terraform.requireInstalled();
        TestCa pki = TestCa.create();
        CaCredential intermediate = pki.intermediate("aws-east.acme.internal");
        ObjectNode vars = JSON.createObjectNode()
                .put("root_certificate_pem", Pem.write(pki.rootCertificate()))
                .put("intermediate_certificate_pem", Pem.write(intermediate.certificate()))
                .put("intermediate_private_key_pem", Pem.writePrivateKey(intermediate.key()));
        more.accept(vars);
        return apply(new Terraform(Repo.root().resolve("terraform/test/render"), scratch), vars);
    }

    /**
     * init + apply + output of a provider-free configuration: the outputs' values by name, and under
     * {@code _sensitive} whether each output is marked sensitive.
     */
    public static JsonNode apply(Terraform tf, ObjectNode vars) throws Exception {
        Path varFile = tf.varFile(JSON.writeValueAsString(vars));
        check(tf.run("init", "-input=false", "-no-color", "-backend=false"));
        check(tf.run("apply", "-auto-approve", "-input=false", "-no-color", "-state=" + tf.statePath(),
                "-var-file=" + varFile));
        Terraform.Result out = check(tf.run("output", "-json", "-state=" + tf.statePath()));
        JsonNode all = JSON.readTree(out.output());
        ObjectNode values = JSON.createObjectNode();
        ObjectNode sensitive = JSON.createObjectNode();
        all.fields().forEachRemaining(e -> {
            values.set(e.getKey(), e.getValue().get("value"));
            sensitive.put(e.getKey(), e.getValue().path("sensitive").asBoolean());
        });
        values.set("_sensitive", sensitive);
        return values;
    }

    private static Terraform.Result check(Terraform.Result r) {
        if (r.exit() != 0) {
            throw new AssertionError("terraform exited " + r.exit() + ":\n" + r.output());
        }
        return r;
    }
}
