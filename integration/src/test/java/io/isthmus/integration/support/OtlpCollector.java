package io.isthmus.integration.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import com.sun.net.httpserver.HttpServer;

/**
 * An OpenTelemetry collector stand-in on loopback: it accepts OTLP/HTTP protobuf exports at {@code /v1/traces} and
 * keeps them, and reads them by the OTLP field numbers (no generated classes): {@code ExportTraceServiceRequest}
 * 1 = resource_spans; {@code ResourceSpans} 1 = resource (1 = attributes), 2 = scope_spans (2 = spans, whose 1 is
 * trace_id); {@code KeyValue} 1 = key, 2 = value (1 = string_value).
 */
public final class OtlpCollector implements AutoCloseable {
    private final HttpServer server;
    private final List<byte[]> exports = new CopyOnWriteArrayList<>();

    private OtlpCollector(HttpServer server) {
        this.server = server;
    }

    public static OtlpCollector start() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        OtlpCollector collector = new OtlpCollector(server);
        server.createContext("/v1/traces", ex -> {
            try (ex) {
                collector.exports.add(ex.getRequestBody().readAllBytes());
                ex.getResponseHeaders().set("Content-Type", "application/x-protobuf");
                ex.sendResponseHeaders(200, -1);
            }
        });
        server.start();
        return collector;
    }

    /** The traces URL to configure: {@code http://127.0.0.1:<port>/v1/traces}. */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/traces";
    }

    /** The {@code isthmus.cluster} resource attribute of every exporter that sent a span of {@code traceId} (hex). */
    public Set<String> clustersWithTrace(String traceId) throws InvalidProtocolBufferException {
        ByteString wanted = ByteString.copyFrom(HexFormat.of().parseHex(traceId));
        Set<String> clusters = new TreeSet<>();
        for (byte[] export : exports) {
            for (ByteString resourceSpans : fields(UnknownFieldSet.parseFrom(export), 1)) {
                UnknownFieldSet rs = UnknownFieldSet.parseFrom(resourceSpans);
                String cluster = clusterOf(rs);
                for (ByteString scopeSpans : fields(rs, 2)) {
                    for (ByteString span : fields(UnknownFieldSet.parseFrom(scopeSpans), 2)) {
                        if (fields(UnknownFieldSet.parseFrom(span), 1).contains(wanted)) {
                            clusters.add(cluster);
                        }
                    }
                }
            }
        }
        return clusters;
    }

    private static String clusterOf(UnknownFieldSet resourceSpans) throws InvalidProtocolBufferException {
        for (ByteString resource : fields(resourceSpans, 1)) {
            for (ByteString kv : fields(UnknownFieldSet.parseFrom(resource), 1)) {
                UnknownFieldSet pair = UnknownFieldSet.parseFrom(kv);
                if (fields(pair, 1).contains(ByteString.copyFromUtf8("isthmus.cluster"))) {
                    for (ByteString value : fields(pair, 2)) {
                        for (ByteString s : fields(UnknownFieldSet.parseFrom(value), 1)) {
                            return s.toStringUtf8();
                        }
                    }
                }
            }
        }
        return "?";
    }

    private static List<ByteString> fields(UnknownFieldSet set, int number) {
        return set.hasField(number) ? set.getField(number).getLengthDelimitedList() : List.of();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
