package io.isthmus.gateway.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import io.isthmus.proxy.telemetry.HopTracer;
import io.isthmus.proxy.telemetry.TraceHop;
import io.isthmus.proxy.telemetry.TraceParent;

/**
 * Spans leave the gateway over real OTLP/HTTP to a collector stand-in that keeps what it receives: the hop's span
 * continues the caller's trace (its ID and the caller's span as parent are in the exported protobuf), the header the
 * hop sends on keeps the caller's trace ID and names the hop's span, and a request without a trace starts one.
 */
class OtlpHopTracerTest {
    static final String CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @Test
    void exportsTheHopsSpanAsAChildOfTheCallersAndPassesTheTraceOn() throws Exception {
        List<byte[]> received = new CopyOnWriteArrayList<>();
        HttpServer collector = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        collector.createContext("/v1/traces", ex -> {
            try (ex) {
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                ex.getRequestBody().transferTo(body);
                received.add(body.toByteArray());
                ex.sendResponseHeaders(200, -1);
            }
        });
        collector.start();
        try {
            TraceParent outgoing;
            try (OtlpHopTracer tracer = new OtlpHopTracer(URI.create("http://127.0.0.1:" + collector.getAddress().getPort()
                    + "/v1/traces"), "beta", 1.0, Duration.ofSeconds(5))) {
                HopTracer.HopSpan span = tracer.start("ingress", "ingress payments.billing",
                        TraceHop.of(List.of(CALLER), List.of()), Map.of("isthmus.source_cluster", "alpha"));
                outgoing = TraceHop.of(List.of(CALLER), List.of()).outgoing(span.context()).orElseThrow();
                span.end(Map.of("isthmus.destination_cluster", "beta"), 200, "");
                HopTracer.HopSpan root = tracer.start("egress", "egress x", TraceHop.of(List.of(), List.of()), Map.of());
                assertThat(root.context()).hasValueSatisfying(t -> assertThat(t.traceId())
                        .isNotEqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
                root.end(Map.of(), 502, "upstream-connect-failed");
            }
            assertThat(outgoing.traceId()).as("the trace ID reaching the next hop is the caller's")
                    .isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
            assertThat(outgoing.parentId()).isNotEqualTo("00f067aa0ba902b7");
            await().atMost(Duration.ofSeconds(10)).until(() -> !received.isEmpty());
            byte[] all = concat(received);
            assertThat(indexOf(all, HexFormat.of().parseHex("4bf92f3577b34da6a3ce929d0e0e4736")))
                    .as("the caller's trace ID in the exported spans").isNotNegative();
            assertThat(indexOf(all, HexFormat.of().parseHex("00f067aa0ba902b7"))).as("the caller's span as parent")
                    .isNotNegative();
            assertThat(indexOf(all, HexFormat.of().parseHex(outgoing.parentId()))).as("the hop's own span")
                    .isNotNegative();
            assertThat(new String(all, java.nio.charset.StandardCharsets.ISO_8859_1)).contains("isthmus-gateway")
                    .contains("beta").contains("isthmus.destination_cluster").contains("ingress payments.billing").contains("upstream-connect-failed");
        } finally {
            collector.stop(0);
        }
    }

    private static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(out::writeBytes);
        return out.toByteArray();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
