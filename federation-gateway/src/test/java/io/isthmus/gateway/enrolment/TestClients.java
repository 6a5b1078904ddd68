package io.isthmus.gateway.enrolment;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;

/** HTTPS clients for the enrolment port that authenticate the gateway by its SVID, with or without a client SVID. */
public final class TestClients {
    static final ObjectMapper JSON = new ObjectMapper();

    private TestClients() {
    }

    public record Reply(int status, JsonNode body, HttpResponse<String> raw) {
        public String code() {
            return body.path("code").asText(null);
        }
    }

    public static HttpClient client(TrustRuntime runtime, X509Svid clientSvid) {
        SpiffeId gateway = runtime.settings().gatewayId();
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsContexts.create(clientSvid == null ? null : () -> clientSvid,
                        new SpiffeTrustManager(runtime.verifier(), PeerPolicy.exactly(gateway))))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    public static Reply post(HttpClient client, URI uri, String body, String bearer) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        return send(client, b.build());
    }

    static Reply get(HttpClient client, URI uri, String bearer) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET();
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        return send(client, b.build());
    }

    static Reply delete(HttpClient client, URI uri, String bearer) {
        return send(client, HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).DELETE()
                .header("Authorization", "Bearer " + bearer).build());
    }

    private static Reply send(HttpClient client, HttpRequest request) {
        try {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            JsonNode body = r.body() == null || r.body().isBlank() ? JSON.nullNode() : JSON.readTree(r.body());
            return new Reply(r.statusCode(), body, r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An enrolled VM's SVID for {@code namespace/serviceAccount}, through the service (no HTTP). */
    public static X509Svid enrolledVm(EnrolmentService enrolment, String namespace, String serviceAccount) {
        EnrolmentService.CreatedToken token = enrolment.createToken("test", namespace, serviceAccount,
                java.util.Optional.of(Duration.ofMinutes(5)), java.util.Optional.of(1));
        KeyPair keys = io.isthmus.trust.x509.Crypto.generateEcP256();
        IssuedSvid issued = enrolment.enrol("127.0.0.1", token.text(), csrPem(keys, "spiffe://ignored/x"));
        return new X509Svid(issued.id(), keys.getPrivate(), issued.chain());
    }

    static String enrolBody(String token, String csr) {
        return JSON.createObjectNode().put("token", token).put("csr", csr).toString();
    }

    static String csrPem(KeyPair keys, String claimedUri) {
        return new String(io.isthmus.trust.testing.TestCa.csr(keys, claimedUri), StandardCharsets.US_ASCII);
    }
}
