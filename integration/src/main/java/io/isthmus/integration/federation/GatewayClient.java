package io.isthmus.integration.federation;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.x509.Pem;

/**
 * HTTPS client for gateways' APIs that authenticates each gateway by its SVID under the federation root (the API
 * presents an SVID, whose only name is its SPIFFE ID, so there is no host name to check), and itself with a client
 * SVID of the federation, which registry reads ({@code /v1/services}) require.
 */
public final class GatewayClient {
    private final HttpClient http;

    /** Reads as {@link FederationPki#apiReader()} of the PKI that {@code rootCertificate} belongs to. */
    public GatewayClient(Path rootCertificate) {
        this(rootCertificate, FederationPki.open(rootCertificate.getParent()).apiReader());
    }

    /**
     * A client that presents no certificate, for admin calls (bearer token): an admin's certificate signed by an
     * intermediate that has since been retired would fail the handshake, which is right for a certificate presented
     * but not what an admin test of rotation means to exercise.
     */
    public static GatewayClient withoutCertificate(Path rootCertificate) {
        return new GatewayClient(rootCertificate, null);
    }

    /** {@code client} null: no client certificate. */
    public GatewayClient(Path rootCertificate, X509Svid client) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            // The root file is read on every handshake: it changes while a root rotates.
            ctx.init(client == null ? null : new KeyManager[] {new SvidKeyManager(() -> client)}, new TrustManager[] {
                    new RootAnchoredTrustManager(null, PeerPolicy.anyFederated(),
                    () -> new FederationRoots(Pem.readCertificates(rootCertificate)), td -> Optional.empty(),
                    Clock.systemUTC(), Duration.ofSeconds(30))}, null);
            http = HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(3)).build();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS to the gateways: " + e.getMessage(), e);
        }
    }

    public HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
