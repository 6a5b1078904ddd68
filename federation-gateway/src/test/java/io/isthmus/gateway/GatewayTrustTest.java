package io.isthmus.gateway;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.isthmus.build.BuildInfo;
import io.isthmus.gateway.api.ApiReads;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.federation.BundleEndpointClient;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** The gateway app boots with a development CA and serves its bundle endpoint, health and metrics. */
@QuarkusTest
class GatewayTrustTest {
    private static final TrustDomain TD = new TrustDomain("test.isthmus.local");

    @Inject
    TrustService trust;

    // Management URLs are relative to the management root path (/q).
    @TestHTTPResource(value = "/", tls = true)
    URL https;

    @TestHTTPResource(value = "/health/ready", management = true)
    URL ready;

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    @Test
    void readinessReportsTheLoadedCaAndGatewaySvid() {
        given().when().get(ready).then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItem("isthmus-trust"))
                .body("checks.find { it.name == 'isthmus-trust' }.data.'trust-domain'", equalTo(TD.name()))
                .body("checks.find { it.name == 'isthmus-trust' }.data.'gateway-svid'",
                        equalTo("spiffe://test.isthmus.local/ns/isthmus-system/sa/isthmus-gateway"));
    }

    @Test
    void metricsExposeCertificateExpiry() {
        String active = io.isthmus.trust.x509.Certificates.serialHex(trust.runtime().ca().current().certificate());
        String root = io.isthmus.trust.x509.Certificates.serialHex(trust.runtime().roots().certificates().get(0));
        String svid = io.isthmus.trust.x509.Certificates.serialHex(trust.runtime().current().leaf());
        given().when().get(metrics).then().statusCode(200)
                .body(containsString("isthmus_cert_expiry_seconds{kind=\"active-intermediate\",serial=\"" + active
                        + "\",trust_domain=\"test.isthmus.local\"}"))
                .body(containsString("isthmus_cert_expiry_seconds{kind=\"intermediate\",serial=\"" + active
                        + "\",trust_domain=\"test.isthmus.local\"}"))
                .body(containsString("isthmus_cert_expiry_seconds{kind=\"root\",serial=\"" + root
                        + "\",trust_domain=\"\"}"))
                .body(containsString("isthmus_cert_expiry_seconds{kind=\"gateway-svid\",serial=\"" + svid
                        + "\",trust_domain=\"test.isthmus.local\"}"))
                .body(containsString("isthmus_intermediate_remaining_ratio"))
                .body(containsString("isthmus_rotation_phase{phase=\"idle\"} 1.0"))
                .body(containsString("isthmus_bundle_sequence{trust_domain=\"test.isthmus.local\"}"));
    }

    /**
     * One address opens 20 idle connections to the bundle endpoint: the default limit per client (16) holds, the other
     * 4 are closed at accept and counted in the metric.
     */
    @Test
    void bundleEndpointRefusesOneClientsConnectionsBeyondTheDefaultLimitAndCountsThem() throws Exception {
        InetSocketAddress endpoint = new InetSocketAddress(InetAddress.getLoopbackAddress(),
                trust.runtime().bundleEndpointAddress().getPort());
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Socket s = new Socket();
                idle.add(s);
                s.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 71}), 0));
                s.connect(endpoint, 5_000);
            }
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> given().when().get(metrics).then()
                    .statusCode(200).body(containsString("isthmus_bundle_endpoint_refused_connections_total 4.0")));
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    @Test
    void metricsNameTheRunningBuild() {
        BuildInfo build = BuildInfo.current();
        given().when().get(metrics).then().statusCode(200).body(containsString(
                "isthmus_build_info{commit=\"" + build.commit() + "\",version=\"" + build.version() + "\"} 1.0"));
    }

    @Test
    void bundleEndpointServesTheLocalBundleOverHttpsSpiffe() {
        int port = trust.runtime().bundleEndpointAddress().getPort();
        FederationRoots roots = new FederationRoots(Pem.readCertificates(Path.of("target/test-data/dev-ca/root.pem")));
        BundleEndpointClient client = new BundleEndpointClient(
                new PeerConfig("self", TD, URI.create("https://127.0.0.1:" + port + "/"), Optional.empty()), roots,
                ignored -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30), new BundleCodec(),
                Duration.ofSeconds(5), null);
        ParsedBundle fetched = client.fetch().join();
        assertThat(fetched.bundle().sameKeysAs(trust.runtime().localBundle().current())).isTrue();
        assertThat(fetched.bundle().x509Authorities()).contains(trust.runtime().ca().current().certificate());
    }

    @Test
    void adminApiListsBundlesAndRefusesBadTrustDomains() {
        ApiReads.asAdmin(https).when().get("/v1/bundles").then().statusCode(200)
                .body("trustDomain", hasItem(TD.name()));
        given().when().get("/v1/bundles/" + TD.name()).then().statusCode(200)
                .body("keys[0].use", equalTo("x509-svid"));
        given().when().get("/v1/bundles/Not_Lower").then().statusCode(400)
                .body("code", equalTo("invalid-trust-domain"))
                .body("detail", containsString("uppercase"));
        given().when().get("/v1/bundles/unknown.example").then().statusCode(404)
                .body("code", equalTo("unknown-trust-domain"));
    }
}
