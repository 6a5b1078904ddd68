package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;

/**
 * Issue 14 item 1: every body streams through both gateways (caller --HTTP/1.1--> a's egress --h2 mTLS--> b's ingress
 * --HTTP/1.1--> backend), in both directions, with back-pressure and no size limit: bodies far larger than the old
 * 16 MiB limit arrive intact with their framing (a declared length stays a length, chunked stays chunked); a reader
 * that stops reading holds the backend back, a consumer that stops consuming holds the uploader back, and meanwhile
 * the gateways' buffers ({@code isthmus_proxy_buffers_bytes}) stay flat; {@code Expect: 100-continue} gets the
 * backend's own interim response; request and response trailers cross both hops.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamingTest {
    private static final MeshName BULK = MeshName.of("bulk", "billing");
    private static final MeshName ECHO = MeshName.of("echo", "billing");
    private static final String TOKEN = "Authorization: Bearer checkout";
    private static final long MIB = 1024 * 1024;
    /** What the gateways' pooled buffers may hold at once, whatever is moving (direct and heap together). */
    private static final long FLAT = 8 * MIB;

    private Federation fed;
    private Bulk.Backend bulk;
    private NettyBackends netty;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)));
        bulk = new Bulk.Backend();
        netty = new NettyBackends();
        fed.extraBackends.put(BULK.host(), bulk.address());
        fed.extraBackends.put(ECHO.host(), netty.echo());
        fed.export(fed.cluster("b"), BULK, new ServicePort("http", 80, Protocol.HTTP));
        fed.export(fed.cluster("b"), ECHO, new ServicePort("http", 80, Protocol.HTTP));
    }

    @AfterAll
    void stop() {
        fed.close();
        bulk.close();
        netty.close();
    }

    private Bulk.Client client() throws Exception {
        return new Bulk.Client(fed.cluster("a").egress.address());
    }

    /** What the gateways' pooled buffers hold now (both gateways of the test share Netty's allocator). */
    private double buffers() {
        return fed.cluster("a").meters.find("isthmus_proxy_buffers_bytes").gauges().stream()
                .mapToDouble(g -> g.value()).sum();
    }

    /** Samples {@link #buffers} every 20 ms while {@code body} runs; returns the largest value seen. */
    private long peakBuffersDuring(ThrowingRunnable body) throws Exception {
        AtomicLong peak = new AtomicLong();
        Thread sampler = Thread.ofVirtual().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet((long) buffers(), Math::max);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        try {
            body.run();
        } finally {
            sampler.interrupt();
            sampler.join();
        }
        return peak.get();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Waits until {@code counter} has not moved for half a second, and returns where it stopped. */
    private static long settled(LongSupplier counter) {
        long[] last = {-1};
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(() -> {
            long now = counter.getAsLong();
            boolean still = now == last[0];
            last[0] = now;
            return still;
        });
        return last[0];
    }

    @Test
    void uploadsAndDownloadsFarLargerThanTheOldLimitArriveIntactWithTheirFraming() throws Exception {
        long size = 64 * MIB;
        long peak = peakBuffersDuring(() -> {
            try (Bulk.Client c = client()) {
                assertThat(c.upload(BULK.host(), "/sink", size, true, TOKEN).body())
                        .isEqualTo("bytes=" + size + " intact=true framing=chunked\n");
                assertThat(c.upload(BULK.host(), "/sink", size, false, TOKEN).body())
                        .as("a declared length stays a length on every hop")
                        .isEqualTo("bytes=" + size + " intact=true framing=length\n");
                Bulk.Response chunked = c.get(BULK.host(), "/source?bytes=" + size, TOKEN);
                assertThat(chunked.status()).isEqualTo(200);
                assertThat(chunked.headers()).containsEntry("transfer-encoding", "chunked");
                assertThat(c.readBody(chunked)).isEqualTo(size);
                Bulk.Response sized = c.get(BULK.host(), "/source?bytes=" + size + "&length", TOKEN);
                assertThat(sized.headers()).containsEntry("content-length", Long.toString(size))
                        .doesNotContainKey("transfer-encoding");
                assertThat(c.readBody(sized)).isEqualTo(size);
            }
        });
        System.out.printf("streaming: 4 x %d MiB through both gateways, peak gateway buffers %d KiB%n", size / MIB,
                peak / 1024);
        assertThat(peak).as("gateway buffers while 256 MiB moved").isLessThan(FLAT);
    }

    @Test
    void aReaderThatStopsReadingHoldsTheBackendBackAndTheGatewaysHoldNoMore() throws Exception {
        long whole = 1024 * MIB;
        try (Bulk.Client c = client()) {
            Bulk.Response head = c.get(BULK.host(), "/source?bytes=" + whole, TOKEN);
            assertThat(head.status()).isEqualTo(200);
            c.readOne();
            long written = settled(bulk.sourceWritten::get);
            System.out.printf("stalled reader: the backend wrote %d KiB of %d MiB, gateway buffers %d KiB%n",
                    written / 1024, whole / MIB, (long) buffers() / 1024);
            // Kernel socket buffers of three connections (autotuned on loopback) plus about one buffer and one
            // stream window per gateway: far below what the backend wants to send.
            assertThat(written).as("bytes the backend could write while nobody read").isLessThan(48 * MIB);
            assertThat(buffers()).as("gateway buffers while the reader stalls").isLessThan(FLAT);
        }
    }

    @Test
    void aConsumerThatStopsReadingHoldsTheUploaderBack() throws Exception {
        bulk.sinkPauseMillis = 60_000;
        try (Bulk.Client c = client()) {
            CompletableFuture<Bulk.Response> answer = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.upload(BULK.host(), "/sink", 1024 * MIB, false, TOKEN);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long sent = settled(c.uploaded::get);
            System.out.printf("stalled consumer: the caller sent %d KiB, the backend read %d KiB, gateway buffers %d KiB%n",
                    sent / 1024, bulk.sinkRead.get() / 1024, (long) buffers() / 1024);
            assertThat(sent).as("bytes the caller could send while the backend read nothing").isLessThan(48 * MIB);
            assertThat(buffers()).as("gateway buffers while the consumer stalls").isLessThan(FLAT);
            assertThat(answer).isNotDone();
        } finally {
            bulk.sinkPauseMillis = 0;
        }
    }

    @Test
    void expectContinueGetsTheBackendsOwnInterimResponseBeforeTheBodyIsSent() throws Exception {
        try (Bulk.Client c = client()) {
            c.send("POST /upload HTTP/1.1\r\nHost: " + ECHO.host() + "\r\n" + TOKEN
                    + "\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
            // Nothing of the body was sent: the 100 can only come from the backend, through both gateways.
            Bulk.Response interim = c.readHead();
            assertThat(interim.status()).isEqualTo(100);
            c.send("hello world");
            Bulk.Response head = c.readHead();
            assertThat(head.status()).isEqualTo(200);
            Bulk.Response body = c.readChunked(head);
            assertThat(body.body()).isEqualTo("hello world");
            assertThat(body.headers()).containsEntry("x-echo-bytes", "11");
        }
        assertThat(netty.seen).anySatisfy(s -> assertThat(s).startsWith("POST /upload expect=100-continue")
                .contains("length=11"));
    }

    @Test
    void requestAndResponseTrailersAndChunksCrossBothHops() throws Exception {
        try (Bulk.Client c = client()) {
            c.send("POST /trailers HTTP/1.1\r\nHost: " + ECHO.host() + "\r\n" + TOKEN
                    + "\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n"
                    + "5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 5eb63bbb\r\n\r\n");
            Bulk.Response head = c.readHead();
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.headers()).containsEntry("transfer-encoding", "chunked");
            Bulk.Response body = c.readChunked(head);
            assertThat(body.body()).isEqualTo("hello world");
            assertThat(body.headers()).as("trailers").containsEntry("x-checksum", "5eb63bbb")
                    .containsEntry("x-echo-bytes", "11");
            // The connection is still good for the next request.
            assertThat(c.upload(BULK.host(), "/sink", 1000, false, TOKEN).body()).contains("bytes=1000 intact=true");
        }
        assertThat(netty.seen).anySatisfy(s -> assertThat(s).startsWith("POST /trailers").contains("te=chunked")
                .contains("xfcc=By=spiffe://b.acme.internal/"));
    }

    @Test
    void aConfiguredBodyLimitIsCountedAsTheBodyStreams() throws Exception {
        try (Federation limited = Federation.start(ProxySettings.defaults().withMaxBodySize(MIB));
                Bulk.Backend sink = new Bulk.Backend()) {
            limited.extraBackends.put(BULK.host(), sink.address());
            limited.export(limited.cluster("b"), BULK, new ServicePort("http", 80, Protocol.HTTP));
            try (Bulk.Client c = new Bulk.Client(limited.cluster("a").egress.address())) {
                assertThat(c.upload(BULK.host(), "/sink", MIB, true, TOKEN).body()).contains("intact=true");
            }
            try (Bulk.Client c = new Bulk.Client(limited.cluster("a").egress.address())) {
                c.send("POST /sink HTTP/1.1\r\nHost: " + BULK.host() + "\r\n" + TOKEN + "\r\nContent-Length: "
                        + (2 * MIB) + "\r\n\r\n");
                Bulk.Response declared = c.readHead();
                assertThat(declared.status()).as("a declared length over the limit").isEqualTo(413);
                assertThat(declared.headers()).containsEntry("x-isthmus-reason", "body-too-large");
            }
            long before = sink.sinkRead.get();
            try (Bulk.Client c = new Bulk.Client(limited.cluster("a").egress.address())) {
                Bulk.Response counted = c.upload(BULK.host(), "/sink", MIB + 64 * 1024, true, TOKEN);
                assertThat(counted.status()).as("a chunked body that grows over the limit").isEqualTo(413);
                assertThat(counted.headers()).containsEntry("x-isthmus-reason", "body-too-large");
            }
            await().atMost(5, TimeUnit.SECONDS).until(() -> sink.sinkRead.get() - before <= MIB);
        }
    }
}
