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

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.x509.Pem;

/**
 * HTTPS client for gateways' APIs that authenticates each gateway by its SVID under the federation root (the API
 * presents an SVID, whose only name is its SPIFFE ID, so there is no host name to check).
 */
public final class GatewayClient {
    private final HttpClient http;

    public GatewayClient(Path rootCertificate) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            // The root file is read on every handshake: it changes while a root rotates.
            ctx.init(null, new TrustManager[] {new RootAnchoredTrustManager(null, PeerPolicy.anyFederated(),
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
