package io.isthmus.proxy.authz.policy.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.policy.PolicyViolation;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.MutableClock;

class PolicyFileWatcherTest {
    static final AccessRequest CHECKOUT_PAYS = AccessRequest.http(
            SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout"), MeshName.of("payments", "billing"), 8080,
            "POST", "/v1/pay");
    static final AccessRequest CART_PAYS = AccessRequest.http(
            SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/cart"), MeshName.of("payments", "billing"), 8080,
            "POST", "/v1/pay");

    static String allow(String name, String principal) {
        return """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: %s, namespace: billing}
                spec:
                  rules:
                  - from: [{source: {principals: ["%s"]}}]
                """.formatted(name, principal);
    }

    @TempDir
    Path dir;
    final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T10:00:00Z"));
    final List<ReloadStatus> events = new CopyOnWriteArrayList<>();

    PolicyFileWatcher watcher(Path file, PolicyStore store) {
        return new PolicyFileWatcher(file, store, clock, Duration.ofMillis(50), events::add);
    }

    @Test
    void changedFileChangesDecisions() throws IOException {
        Path file = dir.resolve("policies.yaml");
        Files.writeString(file, allow("checkout", "spiffe://a.acme.internal/ns/shop/sa/checkout"));
        PolicyStore store = new PolicyStore("isthmus-system");
        PolicyFileWatcher w = watcher(file, store);

        assertThat(w.poll()).isTrue();
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).isTrue();
        assertThat(store.authorizer().authorize(CART_PAYS).allowed()).isFalse();
        assertThat(w.poll()).as("unchanged content is not reloaded").isFalse();

        Files.writeString(file, allow("checkout", "spiffe://a.acme.internal/ns/shop/sa/checkout") + "---\n"
                + allow("cart", "*/sa/cart"));
        clock.advance(Duration.ofMinutes(1));
        assertThat(w.poll()).isTrue();
        assertThat(store.authorizer().authorize(CART_PAYS)).isInstanceOfSatisfying(Decision.Allowed.class,
                a -> assertThat(a.policy()).isEqualTo("billing/cart"));
        assertThat(w.status().policies()).isEqualTo(2);
        assertThat(w.status().lastSuccess()).contains(Instant.parse("2026-11-23T10:01:00Z"));
        assertThat(events).hasSize(2);
    }

    @Test
    void brokenFileKeepsPreviousPoliciesAndReportsTheFieldPath() throws IOException {
        Path file = dir.resolve("policies.yaml");
        Files.writeString(file, allow("checkout", "spiffe://a.acme.internal/ns/shop/sa/checkout"));
        PolicyStore store = new PolicyStore("isthmus-system");
        PolicyFileWatcher w = watcher(file, store);
        w.poll();

        // Second document invalid: the whole file is refused, including its valid first document.
        Files.writeString(file, allow("cart", "*/sa/cart") + "---\n" + allow("bad", "spiffe://a/*/x"));
        assertThat(w.poll()).isTrue();
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).as("old policy kept").isTrue();
        assertThat(store.authorizer().authorize(CART_PAYS).allowed()).as("new file not half-applied").isFalse();
        ReloadStatus s = w.status();
        assertThat(s.degraded()).isTrue();
        assertThat(s.failures()).isEqualTo(1);
        assertThat(s.policies()).isEqualTo(1);
        assertThat(s.lastErrors()).map(PolicyViolation::toString).containsExactly(file + "#2 (billing/bad) "
                + "spec.rules[0].from[0].source.principals[0]: \"spiffe://a/*/x\": '*' is allowed only as the whole "
                + "value, at the start (suffix match, \"*/sa/checkout\") or at the end (prefix match, "
                + "\"spiffe://td/ns/shop/*\")");
        assertThat(w.poll()).as("the same broken content is reported once").isFalse();

        Files.writeString(file, "apiVersion: [unclosed\n");
        assertThat(w.poll()).isTrue();
        assertThat(w.status().lastErrors().get(0).message()).startsWith("not valid YAML at line");
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).isTrue();

        Files.delete(file);
        assertThat(w.poll()).isTrue();
        assertThat(w.status().lastErrors().get(0).message()).startsWith("file not found");
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).isTrue();

        Files.writeString(file, allow("cart", "*/sa/cart"));
        assertThat(w.poll()).isTrue();
        assertThat(w.status().degraded()).isFalse();
        assertThat(store.authorizer().authorize(CART_PAYS).allowed()).isTrue();
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).isFalse();
    }

    @Test
    void missingFileAtStartupMeansDefaultDeny() {
        PolicyStore store = new PolicyStore("isthmus-system");
        PolicyFileWatcher w = watcher(dir.resolve("absent.yaml"), store);
        w.poll();
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).isFalse();
        assertThat(w.status().degraded()).isTrue();
    }

    @Test
    void duplicatePolicyNamesInOneFileAreRejected() throws IOException {
        Path file = dir.resolve("policies.yaml");
        Files.writeString(file, allow("same", "*") + "---\n" + allow("same", "*/sa/cart"));
        PolicyFileWatcher w = watcher(file, new PolicyStore("isthmus-system"));
        w.poll();
        assertThat(w.status().lastErrors()).singleElement().satisfies(v -> assertThat(v.toString())
                .contains("policy billing/same is already defined by " + file + "#1"));
    }

    @Test
    void backgroundPollingPicksUpAnAtomicReplace() throws IOException {
        Path file = dir.resolve("policies.yaml");
        Files.writeString(file, allow("checkout", "spiffe://a.acme.internal/ns/shop/sa/checkout"));
        PolicyStore store = new PolicyStore("isthmus-system");
        try (PolicyFileWatcher w = watcher(file, store)) {
            w.start();
            assertThat(store.authorizer().authorize(CART_PAYS).allowed()).isFalse();
            Path tmp = dir.resolve("policies.yaml.tmp");
            Files.writeString(tmp, allow("cart", "*/sa/cart"));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> store.authorizer().authorize(CART_PAYS).allowed());
        }
    }

    @Test
    void sourcesAreMergedAndReplacedIndependently() {
        PolicyStore store = new PolicyStore("isthmus-system");
        store.update("file", PolicyYaml.parse(allow("checkout", "*/sa/checkout"), "f"));
        store.update("kubernetes", PolicyYaml.parse(allow("cart", "*/sa/cart"), "crd"));
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).isTrue();
        assertThat(store.authorizer().authorize(CART_PAYS).allowed()).isTrue();
        store.update("kubernetes", List.of());
        assertThat(store.authorizer().authorize(CHECKOUT_PAYS).allowed()).isTrue();
        assertThat(store.authorizer().authorize(CART_PAYS).allowed()).isFalse();
    }
}
