package io.isthmus.gateway.status;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Configuration that lets the gateway start but will not work as meant, found by comparing keys that must agree.
 * Pure: the facts come in as a {@link Facts}, the problems go out as sentences that name the keys.
 */
public final class ConfigProblems {
    private ConfigProblems() {
    }

    /**
     * @param trustPeers    {@code isthmus.peers.<name>.trust-domain} by name
     * @param registryPeers {@code isthmus.registry.peers.<site>.trust-domain} by site; empty map when replication is off
     * @param policySource  {@code isthmus.authz.source}: file, kubernetes or both
     */
    public record Facts(String trustDomain, Map<String, String> trustPeers, Map<String, String> registryPeers,
            boolean replicated, String pathNormalization, String policySource, Optional<String> policyFile,
            boolean devCa, Duration clockOffset) {
        public Facts {
            Objects.requireNonNull(trustDomain, "trustDomain");
            trustPeers = Map.copyOf(trustPeers);
            registryPeers = Map.copyOf(registryPeers);
            Objects.requireNonNull(pathNormalization, "pathNormalization");
            Objects.requireNonNull(policySource, "policySource");
            Objects.requireNonNull(policyFile, "policyFile");
            Objects.requireNonNull(clockOffset, "clockOffset");
        }
    }

    public static List<String> find(Facts f) {
        List<String> problems = new ArrayList<>();
        if (f.replicated()) {
            f.trustPeers().forEach((name, td) -> {
                String site = f.registryPeers().get(name);
                if (site == null && !f.registryPeers().containsValue(td)) {
                    problems.add("isthmus.peers." + name + " (" + td + ") has no registry peer site: its exports never"
                            + " reach this gateway; add isthmus.registry.peers." + name + ".bridge-addresses and"
                            + " .trust-domain=" + td);
                } else if (site != null && !site.equals(td)) {
                    problems.add("isthmus.peers." + name + ".trust-domain is " + td + " but isthmus.registry.peers."
                            + name + ".trust-domain is " + site + ": the bridge will refuse one of them; make them equal");
                }
            });
            f.registryPeers().forEach((site, td) -> {
                if (!f.trustPeers().containsKey(site) && !f.trustPeers().containsValue(td)) {
                    problems.add("isthmus.registry.peers." + site + " (" + td + ") is no trust peer: without its bundle"
                            + " its bridge cannot authenticate; add isthmus.peers." + site + ".trust-domain and"
                            + " .bundle-endpoint-url");
                }
            });
        }
        if (f.pathNormalization().equals("none")) {
            problems.add("isthmus.proxy.path-normalization=none: policy matches paths as received while backends serve"
                    + " them normalized (/./admin passes a rule on /admin); use merge-slashes");
        }
        if (!f.policySource().equals("kubernetes") && f.policyFile().isEmpty()) {
            problems.add("isthmus.authz.source=" + f.policySource() + " without isthmus.authz.policy-file: the file"
                    + " contributes no policy");
        }
        if (f.devCa()) {
            problems.add("isthmus.dev.generate-ca=true: a throwaway development CA signs this gateway's identities;"
                    + " configure isthmus.ca.* with the federation's intermediate");
        }
        if (!f.clockOffset().isZero()) {
            problems.add("isthmus.dev.clock-offset=" + f.clockOffset() + ": this gateway runs on a deliberately skewed"
                    + " clock (testing only); remove the key");
        }
        return problems;
    }
}
