package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;

/**
 * Issue 10 section 2, against real backends that normalize differently: b's ingress serves payments.billing from the
 * JDK HttpServer (routes on the decoded path, removes no dot segments) and web.site from Debian's nginx
 * ({@code merge_slashes on}: decodes, removes dot segments, merges slashes). The destination's policy allows a's
 * checkout everything except {@code /admin} and {@code /admin/*} (a DENY). Every encoding of the table goes over
 * HTTP/1.1 (caller -> a's egress -> b's ingress) and over HTTP/2 (a's gateway -> b's ingress, raw {@code :path}),
 * to both backends. Each must either be refused by the gateway (400 path-*, or 403 explicit-deny after policy saw
 * an admin path), or reach the backend as exactly the path policy evaluated, which the backend must not serve as
 * an admin path.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PathNormalizationTableTest {
    static final MeshName WEB = MeshName.of("web", "site");
    static final String DENY_ADMIN = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: no-admin, namespace: isthmus-system}
            spec:
              action: DENY
              rules:
              - to:
                - operation: {paths: ["/admin", "/admin/*"]}
            """;

    enum Outcome { SERVED, DENIED, REFUSED }

    enum Backend {
        JDK(Federation.PAYMENTS), NGINX(WEB);

        final MeshName name;

        Backend(MeshName name) {
            this.name = name;
        }
    }

    enum Wire { HTTP1_THROUGH_EGRESS, HTTP2_AT_INGRESS }

    /** Target, then the outcome the gateway's default normalization (merge-slashes) must give. */
    static final List<Object[]> ROWS = List.of(
            // dot segments, plain and percent-encoded in every case
            row("/admin", Outcome.DENIED), row("/admin/", Outcome.DENIED), row("/admin/users", Outcome.DENIED),
            row("/./admin", Outcome.DENIED), row("/./././admin", Outcome.DENIED), row("/../admin", Outcome.DENIED),
            row("/public/../admin", Outcome.DENIED), row("/a/b/../../admin", Outcome.DENIED),
            row("/a/./b/../../admin", Outcome.DENIED), row("/admin/x/../../admin", Outcome.DENIED),
            row("/%2e/admin", Outcome.DENIED), row("/%2E/admin", Outcome.DENIED), row("/.%2e/admin", Outcome.DENIED),
            row("/%2e%2e/admin", Outcome.DENIED), row("/public/%2E%2e/admin/x", Outcome.DENIED),
            row("/public/.%2e/admin", Outcome.DENIED), row("/admin/.", Outcome.DENIED),
            row("/admin/..", Outcome.SERVED), row("/public/.", Outcome.SERVED), row("/public/%2e", Outcome.SERVED),
            row("/%2e%2e", Outcome.SERVED),
            // percent-encoded unreserved characters, mixed case, double encoding
            row("/%61dmin", Outcome.DENIED), row("/ad%6Din", Outcome.DENIED), row("/%41dmin", Outcome.SERVED),
            row("/ADMIN", Outcome.SERVED), row("/pub%6cic", Outcome.SERVED), row("/%7eadmin", Outcome.SERVED),
            row("/%252e%252e/admin", Outcome.SERVED), row("/%2561dmin", Outcome.SERVED),
            row("/admin%20", Outcome.SERVED), row("/admin%23x", Outcome.SERVED),
            // slashes: repeated, encoded
            row("//admin", Outcome.DENIED), row("///admin//", Outcome.DENIED), row("/admin//x", Outcome.DENIED),
            row("/public//../admin", Outcome.DENIED), row("/admin%2f", Outcome.REFUSED),
            row("/admin%2Fx", Outcome.REFUSED), row("/%2Fadmin", Outcome.REFUSED),
            row("/public%2f..%2fadmin", Outcome.REFUSED), row("/public/%2e%2e%2fadmin", Outcome.REFUSED),
            // backslashes, raw and encoded
            row("/public\\..\\admin", Outcome.REFUSED), row("/admin%5c", Outcome.REFUSED),
            row("/public/..%5cadmin", Outcome.REFUSED), row("/public/%5C../admin", Outcome.REFUSED),
            // ; parameters, raw and encoded
            row("/admin;jsessionid=1", Outcome.REFUSED), row("/public/..;/admin", Outcome.REFUSED),
            row("/admin%3b", Outcome.SERVED), row("/admin%3Bx=1", Outcome.SERVED),
            // query and fragment
            row("/admin?x=1", Outcome.DENIED), row("/public?next=/admin", Outcome.SERVED),
            row("/public?x=/../admin", Outcome.SERVED), row("/admin#x", Outcome.REFUSED),
            row("/public?a#b", Outcome.REFUSED),
            // empty segments and the root
            row("/", Outcome.SERVED), row("/public/", Outcome.SERVED), row("/public", Outcome.SERVED));

    private static Object[] row(String target, Outcome outcome) {
        return new Object[] {target, outcome};
    }

    @TempDir
    static Path dir;
    private Nginx nginx;
    private Federation fed;

    @BeforeAll
    void start() throws Exception {
        nginx = Nginx.start(dir.resolve("nginx"));
        fed = startFederation(PathNormalization.DEFAULT);
    }

    private Federation startFederation(PathNormalization mode) throws IOException {
        Federation f = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2),
                Duration.ofSeconds(10), Duration.ofSeconds(5)).withMaxHeaderSize(8192), mode);
        f.extraBackends.put(WEB.host(), nginx.address());
        f.export(f.cluster("b"), WEB, new ServicePort("http", 80, Protocol.HTTP));
        f.usePolicies(Federation.CHECKOUT_ONLY + "---\n" + DENY_ADMIN);
        return f;
    }

    @AfterAll
    void stop() throws Exception {
        if (fed != null) {
            fed.close();
        }
        if (nginx != null) {
            nginx.close();
        }
    }

    static Stream<Arguments> table() {
        List<Arguments> out = new ArrayList<>();
        for (Object[] r : ROWS) {
            for (Wire wire : Wire.values()) {
                for (Backend backend : Backend.values()) {
                    out.add(Arguments.of(r[0], wire, backend, r[1]));
                }
            }
        }
        return out.stream();
    }

    @Test
    void theTableIsLargeEnough() {
        assertThat(ROWS).hasSizeGreaterThanOrEqualTo(40);
        assertThat(ROWS).extracting(r -> r[1]).contains(Outcome.SERVED, Outcome.DENIED, Outcome.REFUSED);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("table")
    void policyAndBackendSeeTheSamePath(String target, Wire wire, Backend backend, Outcome expected) throws Exception {
        Observed o = send(fed, target, wire, backend);
        assertThat(violation(o)).as("%s", o).isNull();
        assertThat(o.outcome()).as("%s", o).isEqualTo(expected);
    }

    /**
     * The negative control: with normalization off the same table finds the bypasses of issue 10 (policy allowed a
     * spelling of /admin that the backend serves as /admin), so the check above is able to fail.
     */
    @Test
    void withoutNormalizationTheTableFindsTheBypasses() throws Exception {
        try (Federation raw = startFederation(PathNormalization.NONE)) {
            for (String target : List.of("/./admin", "/%61dmin", "/public/../admin", "/%2e/admin")) {
                for (Wire wire : Wire.values()) {
                    Observed o = send(raw, target, wire, Backend.NGINX);
                    assertThat(violation(o)).as("%s", o).startsWith("the backend serves /admin");
                }
            }
            assertThat(violation(send(raw, "/%61dmin", Wire.HTTP2_AT_INGRESS, Backend.JDK)))
                    .startsWith("the backend serves /admin");
        }
    }

    /** What one request came to: the answer, the backend's report (if it got there), and what policy evaluated. */
    record Observed(String target, Wire wire, Backend backend, int status, String reason, Map<String, String> backendSaw,
            List<AccessRequest> policySaw, List<Decision> decisions) {
        Outcome outcome() {
            return status == 200 ? Outcome.SERVED : status == 403 ? Outcome.DENIED : Outcome.REFUSED;
        }
    }

    private static Observed send(Federation f, String target, Wire wire, Backend backend) throws Exception {
        f.audited.clear();
        int status;
        String reason;
        String body;
        if (wire == Wire.HTTP1_THROUGH_EGRESS) {
            try (RawHttp http = RawHttp.plain(f.cluster("a").egress.address())) {
                RawHttp.Response r = http.exchange("GET " + target + " HTTP/1.1\r\nHost: " + backend.name.host()
                        + "\r\nAuthorization: Bearer checkout\r\nConnection: close\r\n\r\n");
                status = r.status();
                reason = r.reason();
                body = r.body();
            }
        } else {
            Federation.Cluster a = f.cluster("a");
            try (RawH2 h2 = RawH2.tls(f.cluster("b").ingress.address(), a.clientContext(a.gateway))) {
                RawH2.Result r = h2.send(RawH2.get("https", target, backend.name.host(),
                        "x-isthmus-caller: " + Federation.CHECKOUT));
                status = r.status();
                reason = r.reason();
                body = r.body();
            }
        }
        Map<String, String> saw = new LinkedHashMap<>();
        if (status == 200) {
            body.lines().filter(l -> l.indexOf('=') > 0).forEach(l -> saw.put(l.substring(0, l.indexOf('=')),
                    l.substring(l.indexOf('=') + 1)));
        }
        return new Observed(target, wire, backend, status, reason, saw,
                f.audited.stream().map(Map.Entry::getKey).toList(),
                f.audited.stream().map(Map.Entry::getValue).toList());
    }

    /** Null when {@code o} is safe; otherwise what went wrong. Pure: the table's invariant. */
    static String violation(Observed o) {
        switch (o.outcome()) {
            case REFUSED -> {
                if (o.status() != 400 || o.reason() == null) {
                    return "expected 400 with a reason from the gateway, got " + o.status() + " " + o.reason();
                }
                return o.policySaw().isEmpty() ? null : "a refused request was put to policy: " + o.policySaw();
            }
            case DENIED -> {
                if (!"explicit-deny".equals(o.reason()) || o.policySaw().size() != 1) {
                    return "expected one explicit-deny by policy, got " + o.reason() + " " + o.policySaw();
                }
                String path = o.policySaw().get(0).path().orElseThrow();
                return admin(path) ? null : "policy denied " + path + ", which is not an admin path";
            }
            default -> {
                String raw = o.backendSaw().getOrDefault("raw", o.backendSaw().get("path"));
                String view = o.backendSaw().get("view");
                if (raw == null || view == null) {
                    return "200 without the backend's report: " + o.backendSaw();
                }
                if (o.policySaw().size() != 1 || !o.decisions().get(0).allowed()) {
                    return "served without exactly one allow by policy: " + o.decisions();
                }
                String evaluated = o.policySaw().get(0).path().orElseThrow();
                int q = raw.indexOf('?');
                if (!(q < 0 ? raw : raw.substring(0, q)).equals(evaluated)) {
                    return "the backend got " + raw + " but policy evaluated " + evaluated;
                }
                if (admin(view)) {
                    return "the backend serves " + view + " for " + o.target() + ", which policy allowed as " + evaluated;
                }
                return null;
            }
        }
    }

    private static boolean admin(String path) {
        return path.equals("/admin") || path.startsWith("/admin/");
    }
}
