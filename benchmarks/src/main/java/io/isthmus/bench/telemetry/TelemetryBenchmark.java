package io.isthmus.bench.telemetry;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.HopRecord;
import io.isthmus.proxy.telemetry.HopTracer;
import io.isthmus.proxy.telemetry.JsonAccessLog;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * What cluster-aware telemetry adds to each request on the event loop, tracing off (the default), in ns per request:
 * the hop record, the bounded labels, the request counter and timer, and the access-log line offered to its queue
 * ({@code accessLog=true}, the gateway's default; its writer thread serializes and discards) or not. Run with
 * {@code -prof gc} for bytes per request:
 * java -jar benchmarks/target/benchmarks.jar TelemetryBenchmark -prof gc
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class TelemetryBenchmark {
    @Param({"false", "true"})
    public boolean accessLog;

    private final TrustDomain a = TrustDomain.parse("a.acme.internal");
    private final SpiffeId caller = SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout");
    private final Optional<String> service = Optional.of("payments.billing.svc.clusterset.local");
    private final Optional<String> cluster = Optional.of("b");
    private final HopRecord.Details details = new HopRecord.Details(caller.toString(), Optional.empty(),
            Optional.of("GET"), Optional.of("/charge"), "http/1.1", 0, 258, Optional.of("10.0.0.7:15443"),
            Optional.empty());
    private final ProxyMetrics metrics = new ProxyMetrics(new SimpleMeterRegistry());
    private Telemetry telemetry;

    @Setup(Level.Trial)
    public void setUp() {
        Optional<JsonAccessLog> log = accessLog
                ? Optional.of(new JsonAccessLog(lines -> { }, new SimpleMeterRegistry(), 8192))
                : Optional.empty();
        telemetry = new Telemetry(new ClusterDirectory("a", Map.of(a, "a", TrustDomain.parse("b.acme.internal"), "b"),
                500), log, HopTracer.OFF, Clock.systemUTC());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        telemetry.accessLog().ifPresent(JsonAccessLog::close);
    }

    /** One egress request as the exchange records it: begin, labels at the response, count, finish. */
    @Benchmark
    public HopRecord egressRequest() {
        long start = System.nanoTime();
        HopRecord hop = telemetry.begin("egress", List.of(), List.of());
        RequestLabels labels = hop.directory().egress(Optional.of(caller), cluster, service, 200);
        metrics.request(labels, start);
        hop.finish("request", labels, details);
        return hop;
    }
}
