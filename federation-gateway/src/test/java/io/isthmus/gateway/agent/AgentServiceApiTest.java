package io.isthmus.gateway.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.enrolment.EnrolmentService;
import io.isthmus.gateway.enrolment.IssuedSvid;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.Registry;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;
import io.isthmus.trust.x509.Crypto;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * VM service registration over real TLS: an enrolled VM registers a service in its own namespace with its SVID;
 * the export appears in the registry API and its backend (the VM's address + backendPort) in the ingress's local
 * backends; without heartbeats it expires (test lease 6 s) and the export goes. Wrong namespace and missing
 * client certificate are refused with stable codes.
 */
@QuarkusTest
class AgentServiceApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    TrustService trust;

    @Inject
    EnrolmentService enrolment;

    @Inject
    VmServiceRegistry services;

    @Inject
    Registry registry;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    record Reply(int status, JsonNode body) {
    }

    private X509Svid enrolVm(String ns, String sa) {
        EnrolmentService.CreatedToken token = enrolment.createToken("test", ns, sa, Optional.of(Duration.ofMinutes(5)),
                Optional.of(1));
        KeyPair keys = Crypto.generateEcP256();
        String csr = new String(io.isthmus.trust.testing.TestCa.csr(keys, "spiffe://ignored/x"), StandardCharsets.US_ASCII);
        IssuedSvid issued = enrolment.enrol("127.0.0.1", token.text(), csr);
        return new X509Svid(issued.id(), keys.getPrivate(), issued.chain());
    }

    private HttpClient client(X509Svid svid) {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsContexts.create(svid == null ? null : () -> svid, new SpiffeTrustManager(
                        trust.runtime().verifier(), PeerPolicy.exactly(trust.runtime().settings().gatewayId()))))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    private Reply send(HttpClient client, HttpRequest request) {
        try {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body() == null || r.body().isBlank() ? JSON.nullNode() : JSON.readTree(r.body()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private URI uri(String path) {
        return URI.create(https.toString().replaceAll("/$", "") + path);
    }

    private Reply put(HttpClient client, String name, String namespace, int backendPort) {
        String body = JSON.createObjectNode().put("namespace", namespace).put("port", 80).put("protocol", "http")
                .put("backendPort", backendPort).toString();
        return send(client, HttpRequest.newBuilder(uri("/v1/agent/services/" + name)).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private Reply listServices(HttpClient client, String namespace) {
        return send(client, HttpRequest.newBuilder(uri("/v1/services?namespace=" + namespace))
                .timeout(Duration.ofSeconds(20)).GET().build());
    }

    private static boolean listed(Reply r, String name) {
        return r.body().toString().contains("\"" + name + "\"");
    }

    @Test
    void registeredServiceIsExportedAndResolvesThenExpiresWithoutHeartbeats() throws Exception {
        X509Svid vm = enrolVm("vmshop", "orders-vm");
        HttpClient c = client(vm);
        Reply r = put(c, "orders", "vmshop", 18080);
        assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
        assertThat(r.body().path("backend").asText()).isEqualTo("127.0.0.1:18080");
        assertThat(r.body().path("identity").asText()).isEqualTo(vm.id().toString());

        Reply list = listServices(c, "vmshop");
        assertThat(list.status()).isEqualTo(200);
        assertThat(listed(list, "orders")).as(list.body().toString()).isTrue();
        assertThat(list.body().toString()).contains(vm.id().toString());
        MeshName name = new MeshName("orders", "vmshop", MeshName.DEFAULT_SUFFIX);
        assertThat(services.resolve(name, 80)).contains(InetSocketAddress.createUnresolved("127.0.0.1", 18080));

        // Heartbeats keep it alive past one lease: each renews the lease from its own time (the expiry moves on),
        // and a heartbeat every 0.5 s leaves a stall of up to 5.5 s before the 6 s test lease could lapse.
        Instant firstExpiry = Instant.parse(r.body().path("expiresAt").asText());
        Instant lastExpiry = firstExpiry;
        while (!Instant.now().isAfter(firstExpiry.plusSeconds(1))) {
            Reply heartbeat = put(c, "orders", "vmshop", 18080);
            assertThat(heartbeat.status()).as(heartbeat.body().toString()).isEqualTo(200);
            Instant expiry = Instant.parse(heartbeat.body().path("expiresAt").asText());
            assertThat(expiry).as("each heartbeat extends the lease").isAfter(lastExpiry);
            lastExpiry = expiry;
            Thread.sleep(500);
        }
        assertThat(lastExpiry).isAfter(firstExpiry.plusSeconds(1));
        assertThat(services.resolve(name, 80)).isPresent();
        assertThat(listed(listServices(c, "vmshop"), "orders")).isTrue();

        // no more heartbeats: gone within lease + sweep (the deadline is generous; the lease decides)
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .untilAsserted(() -> {
                    assertThat(services.resolve(name, 80)).isEmpty();
                    assertThat(listed(listServices(c, "vmshop"), "orders")).isFalse();
                });
        c.close();
    }

    @Test
    void serviceInAnotherNamespaceIsRefused() {
        X509Svid vm = enrolVm("vmshop", "intruder-vm");
        try (HttpClient c = client(vm)) {
            Reply r = put(c, "payments", "billing", 18081);
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.body().path("code").asText()).isEqualTo("namespace-mismatch");
            assertThat(services.resolve(new MeshName("payments", "billing", MeshName.DEFAULT_SUFFIX), 80)).isEmpty();
        }
    }

    @Test
    void callerWithoutClientCertificateIsRefused() {
        try (HttpClient c = client(null)) {
            Reply r = put(c, "anon", "vmshop", 18082);
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.body().path("code").asText()).isEqualTo("client-certificate-required");
            assertThat(services.resolve(new MeshName("anon", "vmshop", MeshName.DEFAULT_SUFFIX), 80)).isEmpty();
        }
    }

    @Test
    void deleteRemovesTheExport() {
        X509Svid vm = enrolVm("vmshop", "cart-vm");
        try (HttpClient c = client(vm)) {
            assertThat(put(c, "cart", "vmshop", 18083).status()).isEqualTo(200);
            Reply d = send(c, HttpRequest.newBuilder(uri("/v1/agent/services/cart?namespace=vmshop"))
                    .timeout(Duration.ofSeconds(20)).DELETE().build());
            assertThat(d.status()).isEqualTo(204);
            assertThat(services.resolve(new MeshName("cart", "vmshop", MeshName.DEFAULT_SUFFIX), 80)).isEmpty();
            assertThat(listed(listServices(c, "vmshop"), "cart")).isFalse();
        }
    }

    /**
     * A VM of a namespace registers, under its own name, a service of that namespace that Kubernetes (or the
     * configuration) exports. VM services are the ingress's first backends, and a registration rewrote the export
     * with the VM's identity: every other cluster's calls to that service would have gone to the VM.
     */
    @Test
    void aVmCannotTakeOverAServiceThatKubernetesExports() {
        ServiceKey key = new ServiceKey(registry.cluster(), "vmbank", "ledger");
        SpiffeId pods = SpiffeId.parse("spiffe://" + registry.cluster() + ".acme.internal/ns/vmbank/sa/ledger");
        ExportSpec kubernetes = new ExportSpec(key, List.of(new ServicePort("http", 80, Protocol.HTTP)),
                List.of(pods), 2);
        registry.export(kubernetes);
        X509Svid vm = enrolVm("vmbank", "batch-vm");
        try (HttpClient c = client(vm)) {
            Reply r = put(c, "ledger", "vmbank", 18084);
            assertThat(r.status()).as(r.body().toString()).isEqualTo(409);
            assertThat(r.body().path("code").asText()).isEqualTo("exported-by-another-source");
            assertThat(r.body().path("detail").asText()).contains("vmbank/ledger").contains(pods.toString());
            assertThat(services.resolve(new MeshName("ledger", "vmbank", MeshName.DEFAULT_SUFFIX), 80))
                    .as("the ingress's backend for ledger").isEmpty();
            assertThat(registry.get(key)).hasValueSatisfying(e -> assertThat(e.identities()).containsExactly(pods));
            // A delete by the VM leaves Kubernetes's export alone.
            Reply d = send(c, HttpRequest.newBuilder(uri("/v1/agent/services/ledger?namespace=vmbank"))
                    .timeout(Duration.ofSeconds(20)).DELETE().build());
            assertThat(d.status()).isEqualTo(404);
            assertThat(registry.get(key)).isPresent();
        } finally {
            registry.unexport(key);
        }
    }
}
