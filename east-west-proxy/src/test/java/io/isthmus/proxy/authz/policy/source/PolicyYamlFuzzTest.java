package io.isthmus.proxy.authz.policy.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;

import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.trust.testing.FuzzTarget;

/**
 * Whoever writes the policy file can write anything. Parsing either refuses the whole file with an
 * {@link InvalidPolicyException} listing at least one violation, or yields policies with distinct ids.
 */
class PolicyYamlFuzzTest {

    @FuzzTarget
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        List<AuthorizationPolicy> policies;
        try {
            policies = PolicyYaml.parse(text, "fuzz.yaml");
        } catch (InvalidPolicyException e) {
            assertThat(e.violations()).isNotEmpty();
            return;
        }
        assertThat(policies).doesNotContainNull();
        assertThat(policies.stream().map(AuthorizationPolicy::id).distinct().count()).isEqualTo(policies.size());
    }
}
