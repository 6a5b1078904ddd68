package io.isthmus.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/** Keys that must agree, as a table: each disagreement is one sentence naming both keys; agreement is none. */
class ConfigProblemsTest {
    private static final Map<String, String> PEERS = Map.of("beta", "beta.acme.internal", "gamma", "gamma.acme.internal");

    private static ConfigProblems.Facts facts(Map<String, String> trust, Map<String, String> registry, String paths,
            String source, Optional<String> file, boolean devCa, Duration offset) {
        return new ConfigProblems.Facts("alpha.acme.internal", trust, registry, true, paths, source, file, devCa, offset);
    }

    private static ConfigProblems.Facts good() {
        return facts(PEERS, PEERS, "merge-slashes", "file", Optional.of("/etc/isthmus/policies.yaml"), false,
                Duration.ZERO);
    }

    @Test
    void aConsistentConfigurationHasNoProblem() {
        assertThat(ConfigProblems.find(good())).isEmpty();
        assertThat(ConfigProblems.find(facts(PEERS, PEERS, "base", "kubernetes", Optional.empty(), false,
                Duration.ZERO))).isEmpty();
    }

    @Test
    void namesEachDisagreement() {
        assertThat(ConfigProblems.find(facts(PEERS, Map.of("beta", "beta.acme.internal"), "merge-slashes", "file",
                Optional.of("p"), false, Duration.ZERO))).singleElement().asString()
                .startsWith("isthmus.peers.gamma (gamma.acme.internal) has no registry peer site");
        assertThat(ConfigProblems.find(facts(PEERS, Map.of("beta", "beta.acme.internal", "gamma", "other.internal"),
                "merge-slashes", "file", Optional.of("p"), false, Duration.ZERO))).singleElement().asString()
                .contains("isthmus.peers.gamma.trust-domain is gamma.acme.internal but"
                        + " isthmus.registry.peers.gamma.trust-domain is other.internal");
        assertThat(ConfigProblems.find(facts(Map.of("beta", "beta.acme.internal"), PEERS, "merge-slashes", "file",
                Optional.of("p"), false, Duration.ZERO))).singleElement().asString()
                .startsWith("isthmus.registry.peers.gamma (gamma.acme.internal) is no trust peer");
        assertThat(ConfigProblems.find(facts(PEERS, PEERS, "none", "file", Optional.of("p"), false, Duration.ZERO)))
                .singleElement().asString().startsWith("isthmus.proxy.path-normalization=none");
        assertThat(ConfigProblems.find(facts(PEERS, PEERS, "merge-slashes", "both", Optional.empty(), false,
                Duration.ZERO))).singleElement().asString().contains("without isthmus.authz.policy-file");
        assertThat(ConfigProblems.find(facts(PEERS, PEERS, "merge-slashes", "file", Optional.of("p"), true,
                Duration.ZERO))).singleElement().asString().startsWith("isthmus.dev.generate-ca=true");
        assertThat(ConfigProblems.find(facts(PEERS, PEERS, "merge-slashes", "file", Optional.of("p"), false,
                Duration.ofSeconds(-20)))).singleElement().asString().startsWith("isthmus.dev.clock-offset=PT-20S");
    }

    @Test
    void aPeerUnderAnotherNameIsFoundByItsTrustDomain() {
        assertThat(ConfigProblems.find(facts(Map.of("b", "beta.acme.internal"), Map.of("beta", "beta.acme.internal"),
                "merge-slashes", "file", Optional.of("p"), false, Duration.ZERO))).isEmpty();
    }
}
