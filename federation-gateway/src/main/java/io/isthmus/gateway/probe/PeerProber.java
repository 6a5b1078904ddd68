package io.isthmus.gateway.probe;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.registry.RegistryService;
import io.isthmus.gateway.status.ClockView;
import io.isthmus.gateway.status.ProbeView;
import io.isthmus.gateway.status.StatusConfig;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Probes every configured peer on demand: its ingress by mutual TLS ({@link IngressProbe}; the address comes from the
 * registry, where the peer's exports carry it) and its clock through its bundle endpoint ({@link ClockProbe}). Peers
 * are probed in parallel, each bounded by {@code isthmus.status.probe-timeout}. A round is shared by everyone who asks
 * while it runs and reused for {@code isthmus.status.probe-min-interval}, so readers of the status page cannot make
 * this gateway dial its peers more often than that. Thread-safe.
 */
@ApplicationScoped
public class PeerProber {
    private final GatewayConfig gateway;
    private final RegistryService registry;
    private final StatusConfig config;
    private final Clock clock;
    private final IngressProbe ingress;
    private final ClockProbe clocks;
    private final ExecutorService probes = Executors.newVirtualThreadPerTaskExecutor();
    private CompletableFuture<Map<String, PeerProbes>> round;
    private Instant roundStarted = Instant.EPOCH;

    @Inject
    public PeerProber(GatewayConfig gateway, TrustService trust, RegistryService registry, StatusConfig config,
            Clock clock) {
        this.gateway = gateway;
        this.registry = registry;
        this.config = config;
        this.clock = clock;
        PeerTls tls = new PeerTls(trust.runtime());
        this.ingress = new IngressProbe(tls, clock);
        this.clocks = new ClockProbe(tls, clock);
    }

    /** The findings of a round no older than the minimum interval, by peer name (as configured). Blocks for a round. */
    public Map<String, PeerProbes> latest() {
        CompletableFuture<Map<String, PeerProbes>> current;
        synchronized (this) {
            Instant now = clock.instant();
            if (round == null || (round.isDone() && !now.isBefore(roundStarted.plus(config.probeMinInterval())))) {
                roundStarted = now;
                round = CompletableFuture.supplyAsync(this::probeAll, probes);
            }
            current = round;
        }
        return current.join();
    }

    private Map<String, PeerProbes> probeAll() {
        Duration timeout = config.probeTimeout();
        Map<String, String> ingressByCluster = ingressAddresses();
        Map<String, CompletableFuture<PeerProbes>> asks = new LinkedHashMap<>();
        gateway.peers().forEach((name, peer) -> {
            TrustDomain td = TrustDomain.parse(peer.trustDomain());
            Optional<String> address = registry.siteOf(name, td).map(ingressByCluster::get);
            URI endpoint = peer.bundleEndpointUrl();
            CompletableFuture<ProbeView> in = CompletableFuture.supplyAsync(
                    () -> ingress.probe(td, address, timeout), probes);
            CompletableFuture<ClockView> time = CompletableFuture.supplyAsync(
                    () -> clocks.read(td, endpoint, timeout), probes);
            asks.put(name, in.thenCombine(time, PeerProbes::new));
        });
        Map<String, PeerProbes> result = new LinkedHashMap<>();
        asks.forEach((name, ask) -> result.put(name, ask.join()));
        return result;
    }

    /** Each peer cluster's ingress address, as its exports in the registry state it. */
    private Map<String, String> ingressAddresses() {
        Map<String, String> byCluster = new LinkedHashMap<>();
        for (ExportedService e : registry.registry().list(RegistryQuery.ALL)) {
            byCluster.putIfAbsent(e.key().cluster(), e.ingress().toString());
        }
        return byCluster;
    }

    @PreDestroy
    void stop() {
        probes.shutdownNow();
    }
}
