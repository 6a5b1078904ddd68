package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.endpoint.EndpointAnswer;
import io.isthmus.trust.testing.LogCapture;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;

/**
 * Stopping the bundle endpoint while a route is still computing its answer (a peer's fetch, a member's membership
 * post). Before, the event loops were shut down first: the answer in flight was lost with its connection, and when the
 * route's virtual thread then wrote it, Netty could no longer deliver the write's completion and logged "Failed to
 * submit a listener notification task. Event loop shut down?" at ERROR, with a stack trace, on a clean stop
 * (FastRejoinE2ETest caught it in a gateway's log). Now an answer being computed is still written, and one that comes
 * after the endpoint stopped is dropped quietly.
 */
class BundleEndpointStopTest {
    private LogCapture netty;

    @BeforeEach
    void captureNettyWarnings() {
        assertThat(InternalLoggerFactory.getDefaultFactory()).as("Netty logs through java.util.logging in this module")
                .isInstanceOf(JdkLoggerFactory.class);
        netty = LogCapture.of("io.netty");
    }

    @AfterEach
    void release() {
        netty.close();
    }

    @Test
    void anAnswerBeingComputedWhenTheEndpointStopsIsStillWritten() throws Exception {
        BundleEndpointFixture endpoint = BundleEndpointFixture.create();
        CountDownLatch computing = new CountDownLatch(1);
        BundleEndpointServer server = endpoint.start(Clock.systemUTC());
        server.serve("/slow", request -> {
            computing.countDown();
            sleep(Duration.ofMillis(700));
            return EndpointAnswer.json(200, "{\"answer\":\"late but whole\"}");
        });
        CompletableFuture<HttpResponse<String>> fetch = client(endpoint).sendAsync(
                HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.address().getPort() + "/slow"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(computing.await(10, TimeUnit.SECONDS)).as("the route started").isTrue();
        server.close();

        HttpResponse<String> r = fetch.get(10, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("{\"answer\":\"late but whole\"}");
        assertThat(netty.atLeast(Level.WARNING)).as("Netty warnings and errors").isEmpty();
    }

    @Test
    void anAnswerThatComesAfterTheEndpointStoppedIsDroppedQuietly() throws Exception {
        BundleEndpointFixture endpoint = BundleEndpointFixture.create();
        CountDownLatch computing = new CountDownLatch(1);
        CountDownLatch answered = new CountDownLatch(1);
        BundleEndpointServer server = endpoint.start(Clock.systemUTC());
        server.serve("/stuck", request -> {
            computing.countDown();
            // A route that does not stop when interrupted: it answers only after the endpoint has stopped.
            long until = System.nanoTime() + Duration.ofSeconds(4).toNanos();
            while (System.nanoTime() < until) {
                try {
                    Thread.sleep(Duration.ofMillis(100));
                } catch (InterruptedException ignored) {
                    // keeps computing
                }
            }
            answered.countDown();
            return EndpointAnswer.json(200, "{}");
        });
        CompletableFuture<HttpResponse<String>> fetch = client(endpoint).sendAsync(
                HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.address().getPort() + "/stuck"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(computing.await(10, TimeUnit.SECONDS)).as("the route started").isTrue();
        long closing = System.nanoTime();
        server.close();
        Duration took = Duration.ofNanos(System.nanoTime() - closing);

        assertThat(took).as("close waits out its grace, not the stuck route").isLessThan(Duration.ofMillis(3_500));
        assertThat(fetch).as("the connection closed without an answer").failsWithin(Duration.ofSeconds(10));
        assertThat(answered.await(10, TimeUnit.SECONDS)).as("the route answered after the stop").isTrue();
        sleep(Duration.ofMillis(300));
        assertThat(netty.atLeast(Level.WARNING)).as("Netty warnings and errors").isEmpty();
    }

    private static HttpClient client(BundleEndpointFixture endpoint) throws Exception {
        return HttpClient.newBuilder().sslContext(endpoint.peerTls()).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
