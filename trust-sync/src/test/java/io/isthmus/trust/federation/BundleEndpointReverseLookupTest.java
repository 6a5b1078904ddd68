package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.testing.RecordingResolverProvider;

/**
 * Serving a peer never looks its address up in DNS. The JDK's HTTPS server made one reverse lookup per TLS connection
 * (and a forward one to check it) before the handshake: time spent per fetch, a query that tells the DNS operator who
 * fetches, and anyone who controls the PTR records of their own addresses could make every one of their connections
 * hold the server for the resolver's timeout. The JVM's resolver here records every reverse lookup, whoever makes it.
 */
class BundleEndpointReverseLookupTest {
    /** A loopback address of its own (no /etc/hosts name), so that no other lookup is counted as this client's. */
    private static final byte[] CLIENT = {127, 0, 0, 45};

    @Test
    void fetchingTheBundleLooksUpNothingAboutTheClient() throws Exception {
        InetAddress client = InetAddress.getByAddress(CLIENT);
        InetAddress other = InetAddress.getByAddress(new byte[] {127, 0, 0, 46});
        other.getHostName();
        assertThat(RecordingResolverProvider.installed()).as("the JVM resolves through the recording resolver").isTrue();
        assertThat(RecordingResolverProvider.reverseLookupsOf(other)).as("the recorder sees a reverse lookup").isEqualTo(1);

        BundleEndpointFixture endpoint = BundleEndpointFixture.create();
        try (BundleEndpointServer server = endpoint.start(Clock.systemUTC())) {
            for (int i = 0; i < 3; i++) {
                // A client of its own each time: a new connection and TLS handshake, as peers poll.
                HttpClient http = HttpClient.newBuilder().sslContext(endpoint.peerTls()).localAddress(client)
                        .connectTimeout(Duration.ofSeconds(10)).build();
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                        + server.address().getPort() + "/")).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                http.close();
            }
        }
        assertThat(RecordingResolverProvider.reverseLookupsOf(client)).as("reverse lookups of the client %s", client)
                .isZero();
    }
}
