package io.isthmus.bench.proxy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import io.isthmus.proxy.authz.vouch.CallerResolution;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.authz.vouch.VouchingDecision;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.http.path.PathVerdict;
import io.isthmus.proxy.http.validate.RequestHead;
import io.isthmus.proxy.http.validate.RequestValidator;
import io.isthmus.proxy.http.validate.RequestVerdict;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What the checks of issue 10 add to each request on the event loop, in ns per call: path normalization of a path
 * that needs nothing (the common case: returned as is) and of one that needs decoding, dot removal and slash merging;
 * request-head validation of a typical head; the vouching decision. Run:
 * java -jar benchmarks/target/benchmarks.jar RequestChecksBenchmark
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class RequestChecksBenchmark {
    private final PathNormalizer normalizer = new PathNormalizer(PathNormalization.DEFAULT);
    private final String plainPath = "/v1/payments/42/refunds?expand=items&limit=10";
    private final String messyPath = "/v1//payments/./42/%72efunds/../refunds?expand=items&limit=10";
    private final RequestHead head = RequestHead.http1("GET", plainPath, "HTTP/1.1", List.of(
            Map.entry("Host", "payments.billing.svc.clusterset.local"),
            Map.entry("User-Agent", "curl/8.5.0"), Map.entry("Accept", "*/*"),
            Map.entry("Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.e30.c2ln"),
            Map.entry("Content-Length", "0")), false);
    private final TrustDomain a = new TrustDomain("a.acme.internal");
    private final GatewayIdentities gateways = GatewayIdentities.conventional(List.of(a,
            new TrustDomain("b.acme.internal"), new TrustDomain("c.acme.internal")));
    private final SpiffeId gateway = GatewayIdentities.conventional(a);
    private final List<String> asserted = List.of("spiffe://a.acme.internal/ns/shop/sa/checkout");

    @Benchmark
    public PathVerdict normalizeAPathThatNeedsNothing() {
        return normalizer.normalize(plainPath);
    }

    @Benchmark
    public PathVerdict normalizeAPathThatNeedsWork() {
        return normalizer.normalize(messyPath);
    }

    @Benchmark
    public RequestVerdict validateATypicalHead() {
        return RequestValidator.check(head);
    }

    @Benchmark
    public CallerResolution resolveAVouchedCaller() {
        return VouchingDecision.resolve(gateway, asserted, gateways);
    }
}
