package io.isthmus.gateway.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.trust.testing.FuzzTarget;

/**
 * Anyone allowed to create an {@code AuthorizationPolicy} custom resource writes its content. Whatever JSON the API
 * server hands the informer (decoded as the client decodes it), turning it into a policy either refuses it with an
 * {@link InvalidPolicyException} or yields a policy with a name and namespace.
 */
class PolicyCrdFuzzTest {
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    @FuzzTarget
    void toPolicy(byte[] input) {
        GenericKubernetesResource resource;
        try {
            resource = SERIALIZATION.unmarshal(new String(input, StandardCharsets.UTF_8), GenericKubernetesResource.class);
        } catch (RuntimeException e) {
            return; // the client itself refuses it: it never reaches the policy source
        }
        if (resource == null) {
            return;
        }
        AuthorizationPolicy policy;
        try {
            policy = PolicyCrdSource.toPolicy(resource);
        } catch (InvalidPolicyException e) {
            assertThat(e.violations()).isNotEmpty();
            return;
        }
        assertThat(policy.id().name()).isNotBlank();
        assertThat(policy.id().namespace()).isNotBlank();
    }
}
