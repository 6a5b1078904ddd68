package io.isthmus.gateway.api.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import jakarta.inject.Inject;

import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;
import io.isthmus.trust.x509.Pem;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The attacker's view of the API port's reads, over real TLS against the running gateway (with clients that speak
 * HTTP/1.1 and clients that offer h2; the port negotiates HTTP/1.1 with both today):
 * {@code /v1/services}, the bundle list and {@code /v1/tcp-listeners} answer only a workload of a federated trust
 * domain or the bootstrap admin; everyone else gets nothing of the registry. A certificate that does not verify never completes the
 * handshake; one that stopped verifying on an open connection (its trust domain's CA revoked) is refused per request
 * with {@code read-svid-rejected}. The single bundle stays public.
 */
@QuarkusTest
class RegistryReadAccessTest {
    private static final String ADMIN_TOKEN = "test-bootstrap-admin-token-0123456789abcdef";
    private static final String TD = "test.isthmus.local";
    private static final String SERVICES = "/v1/services";
    private static final String PAYMENTS = "/v1/services/payments.billing.svc.clusterset.local";
    /** The egress's TCP listeners: which service each reaches, where it listens, whom its plaintext clients act as. */
    private static final String TCP_LISTENERS = "/v1/tcp-listeners";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    TrustService trust;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    @TestHTTPResource("/")
    URL http;

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    record Reply(int status, JsonNode body) {
        String code() {
            return body.path("code").asText(null);
        }
    }

    @BeforeEach
    void adminToken() throws IOException {
        Files.writeString(Path.of("target/test-admin-token"), ADMIN_TOKEN + "\n", StandardCharsets.UTF_8);
    }

    private SSLContext tls(X509Svid client) {
        return TlsContexts.create(client == null ? null : () -> client, new SpiffeTrustManager(trust.runtime().verifier(),
                PeerPolicy.exactly(trust.runtime().settings().gatewayId())));
    }

    private Reply get(X509Svid client, HttpClient.Version version, String path, String authorization) throws Exception {
        HttpClient c = HttpClient.newBuilder().version(version).sslContext(tls(client))
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(https.toString().replaceAll("/$", "") + path))
                .timeout(Duration.ofSeconds(20)).GET();
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        HttpResponse<String> r = c.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body().isBlank() ? JSON.nullNode() : JSON.readTree(r.body()));
    }

    private static void assertRefused(Reply r, int status, String code) {
        assertThat(r.status()).as(r.body().toString()).isEqualTo(status);
        assertThat(r.code()).isEqualTo(code);
        assertThat(r.body().toString()).doesNotContain("payments").doesNotContain("billing").doesNotContain(ADMIN_TOKEN);
    }

    private X509Svid workload(String id) {
        return trust.runtime().ca().issue(SpiffeId.parse(id), Duration.ofMinutes(10));
    }

    @Test
    void anonymousAndWrongTokensGetAStableCodeAndNothingOfTheRegistry() throws Exception {
        for (HttpClient.Version v : List.of(HttpClient.Version.HTTP_1_1, HttpClient.Version.HTTP_2)) {
            for (String path : List.of(SERVICES, PAYMENTS, "/v1/services?namespace=billing", "/v1/bundles", TCP_LISTENERS)) {
                assertRefused(get(null, v, path, null), 401, "read-unauthenticated");
                assertRefused(get(null, v, path, "Bearer wrong-token-wrong-token-wrong-token"), 401, "read-token-rejected");
                assertRefused(get(null, v, path, "Basic YWRtaW46YWRtaW4="), 401, "read-token-rejected");
                assertRefused(get(null, v, path, ADMIN_TOKEN), 401, "read-token-rejected");
                // A wrong token is not excused by a good certificate next to it.
                assertRefused(get(workload("spiffe://" + TD + "/ns/shop/sa/cart"), v, path, "Bearer nope"), 401,
                        "read-token-rejected");
            }
        }
        String counted = HttpClient.newHttpClient().send(HttpRequest.newBuilder(metrics.toURI()).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(counted).contains("isthmus_api_read_refusals_total{reason=\"read-unauthenticated\"}")
                .contains("isthmus_api_read_refusals_total{reason=\"read-token-rejected\"}");
    }

    @Test
    void plainHttpIsRefusedEvenWithTheRightToken() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(http.toString().replaceAll("/$", "") + SERVICES)).header("Authorization", "Bearer " + ADMIN_TOKEN)
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(r.body()).path("code").asText()).isEqualTo("tls-required");
        assertThat(r.body()).doesNotContain("payments");
    }

    @Test
    void certificatesThatDoNotVerifyNeverCompleteTheHandshake() {
        X509Svid foreign = TestCa.svid(TestCa.create().intermediate(TD), "spiffe://" + TD + "/ns/shop/sa/cart");
        X509Svid expired = TestCa.leaf().uri("spiffe://" + TD + "/ns/shop/sa/cart")
                .validity(Instant.now().minus(Duration.ofHours(2)), Instant.now().minus(Duration.ofHours(1)))
                .signedBy(trust.runtime().ca().current());
        for (X509Svid bad : List.of(foreign, expired)) {
            for (HttpClient.Version v : List.of(HttpClient.Version.HTTP_1_1, HttpClient.Version.HTTP_2)) {
                assertThatThrownBy(() -> get(bad, v, SERVICES, null)).as(bad.id() + " " + v).isInstanceOf(IOException.class);
            }
        }
    }

    @Test
    void federatedWorkloadsAndAdminsRead() throws Exception {
        X509Svid admin = workload("spiffe://" + TD + "/ns/ops/sa/admin");
        X509Svid cart = workload("spiffe://" + TD + "/ns/shop/sa/cart");
        X509Svid peer = peerWorkload(peerCa(new TrustDomain("peer.read-test.local")), "spiffe://peer.read-test.local/ns/ops/sa/dash");
        for (HttpClient.Version v : List.of(HttpClient.Version.HTTP_1_1, HttpClient.Version.HTTP_2)) {
            for (Reply r : List.of(get(cart, v, SERVICES, null), get(peer, v, SERVICES, null), get(admin, v, SERVICES, null),
                    get(null, v, SERVICES, "Bearer " + ADMIN_TOKEN))) {
                assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
                assertThat(r.body().findValuesAsText("meshName")).contains("payments.billing.svc.clusterset.local");
            }
            assertThat(get(peer, v, PAYMENTS, null).status()).isEqualTo(200);
            assertThat(get(cart, v, "/v1/bundles", null).body().findValuesAsText("trustDomain")).contains(TD);
            for (Reply r : List.of(get(cart, v, TCP_LISTENERS, null), get(null, v, TCP_LISTENERS, "Bearer " + ADMIN_TOKEN))) {
                assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
                assertThat(r.body().findValuesAsText("service")).containsExactly("ledger.billing.svc.clusterset.local");
            }
        }
    }

    @Test
    void theSingleBundleStaysPublicAndItsNotFoundNamesNoMember() throws Exception {
        Reply bundle = get(null, HttpClient.Version.HTTP_1_1, "/v1/bundles/" + TD, null);
        assertThat(bundle.status()).isEqualTo(200);
        assertThat(bundle.body().path("keys").get(0).path("use").asText()).isEqualTo("x509-svid");
        Reply unknown = get(null, HttpClient.Version.HTTP_1_1, "/v1/bundles/unknown.example", null);
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.body().toString()).doesNotContain(TD);
    }

    /**
     * A keep-alive connection outlives its handshake: after the peer trust domain's signing CA is revoked (its
     * bundle replaced), the next request on the same connection is refused, and a new connection fails its handshake.
     */
    @Test
    void aConnectionWhoseTrustDomainIsRevokedIsRefusedOnItsNextRequest() throws Exception {
        TrustDomain td = new TrustDomain("revoked.read-test.local");
        CaCredential ca = peerCa(td);
        X509Svid svid = peerWorkload(ca, "spiffe://revoked.read-test.local/ns/ops/sa/dash");
        int port = https.getPort();
        try (SSLSocket socket = (SSLSocket) tls(svid).getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            socket.startHandshake();
            Reply before = rawGet(socket, SERVICES);
            assertThat(before.status()).as(before.body().toString()).isEqualTo(200);

            CaCredential replacement = new CaFactory(Clock.systemUTC()).issueIntermediate(root(), td, Duration.ofDays(1));
            trust.runtime().store().put(new TrustBundle(td, List.of(replacement.certificate()), List.of(),
                    trust.runtime().store().bundleFor(td).orElseThrow().sequence() + 1, Optional.empty()));

            Reply after = rawGet(socket, SERVICES);
            assertRefused(after, 401, "read-svid-rejected");
            assertThat(after.body().path("detail").asText()).contains("signer-not-in-bundle");
        }
        assertThatThrownBy(() -> get(svid, HttpClient.Version.HTTP_1_1, SERVICES, null)).isInstanceOf(IOException.class);
    }

    private static CaCredential root() {
        return new CaCredential(Pem.readPrivateKey(Path.of("target/test-data/dev-ca/root.key")),
                Pem.readCertificates(Path.of("target/test-data/dev-ca/root.pem")));
    }

    /** A peer trust domain federated with the gateway under test: its intermediate under the same root, in its bundle. */
    private CaCredential peerCa(TrustDomain td) throws IOException {
        CaCredential ca = new CaFactory(Clock.systemUTC()).issueIntermediate(root(), td, Duration.ofDays(1));
        long sequence = trust.runtime().store().bundleFor(td).map(b -> b.sequence() + 1).orElse(1L);
        trust.runtime().store().put(new TrustBundle(td, List.of(ca.certificate()), List.of(), sequence, Optional.empty()));
        return ca;
    }

    private static X509Svid peerWorkload(CaCredential ca, String id) {
        return TestCa.svid(ca, id);
    }

    /** One HTTP/1.1 GET on an open connection, which stays open (keep-alive). */
    private static Reply rawGet(SSLSocket socket, String path) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
        String status = in.readLine();
        int length = -1;
        boolean chunked = false;
        for (String h = in.readLine(); h != null && !h.isEmpty(); h = in.readLine()) {
            String lower = h.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(h.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        StringBuilder body = new StringBuilder();
        if (chunked) {
            for (int size = Integer.parseInt(in.readLine().trim(), 16); size > 0; size = Integer.parseInt(in.readLine().trim(), 16)) {
                char[] chunk = new char[size];
                for (int read = 0; read < size; ) {
                    read += in.read(chunk, read, size - read);
                }
                body.append(chunk);
                in.readLine();
            }
            in.readLine();
        } else {
            char[] buf = new char[Math.max(length, 0)];
            for (int read = 0; read < buf.length; ) {
                read += in.read(buf, read, buf.length - read);
            }
            body.append(buf);
        }
        return new Reply(Integer.parseInt(status.split(" ")[1]), body.isEmpty() ? JSON.nullNode() : JSON.readTree(body.toString()));
    }
}
