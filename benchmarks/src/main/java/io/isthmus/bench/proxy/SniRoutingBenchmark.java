package io.isthmus.bench.proxy;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

import io.isthmus.proxy.ingress.LocalBackends;
import io.isthmus.proxy.sni.IngressRoute;
import io.isthmus.proxy.sni.LocalExports;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;

/**
 * What routing by server name adds to each new ingress connection, in ns per decision (the ClientHello parsing is
 * Netty's and not measured): a connection without a route name (every gateway-to-gateway HTTP connection), a
 * passthrough route, a TCP route and a refused one. Run: java -jar benchmarks/target/benchmarks.jar SniRoutingBenchmark
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class SniRoutingBenchmark {
    private final Map<MeshName, List<ServicePort>> exported = Map.of(
            MeshName.of("orders", "shop"), List.of(new ServicePort("orders", 8443, Protocol.MTLS),
                    new ServicePort("http", 80, Protocol.HTTP)),
            MeshName.of("pg", "data"), List.of(new ServicePort("pg", 5432, Protocol.TCP)));
    private final LocalExports exports = name -> Optional.ofNullable(exported.get(name));
    private final InetSocketAddress tls = InetSocketAddress.createUnresolved("10.0.0.5", 8443);
    private final InetSocketAddress plain = InetSocketAddress.createUnresolved("10.0.0.5", 8080);
    private final LocalBackends backends = (name, port) -> Optional.of(port == 8443 ? tls : plain);

    @Benchmark
    public IngressRoute noRouteName() {
        return IngressRoute.decide("gw-b.acme.internal", MeshName.DEFAULT_SUFFIX, exports, backends);
    }

    @Benchmark
    public IngressRoute passthroughRoute() {
        return IngressRoute.decide("8443.orders.shop.svc.clusterset.local", MeshName.DEFAULT_SUFFIX, exports, backends);
    }

    @Benchmark
    public IngressRoute tcpRoute() {
        return IngressRoute.decide("5432.pg.data.svc.clusterset.local", MeshName.DEFAULT_SUFFIX, exports, backends);
    }

    @Benchmark
    public IngressRoute refusedRoute() {
        return IngressRoute.decide("80.orders.shop.svc.clusterset.local", MeshName.DEFAULT_SUFFIX, exports, backends);
    }
}
