package io.isthmus.integration.federation;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * A local federation: N clusters, each one gateway process with its own trust domain and intermediate under one
 * throwaway root, every gateway a peer of every other. Used by the launcher and by the end-to-end tests.
 * {@link #close()} stops every process it started.
 */
public final class Federation implements AutoCloseable {
    private final FederationPki pki;
    private final FederationConfig config;
    private final Map<String, GatewayProcess> gateways = new LinkedHashMap<>();
    private final Path appJar;

    private Federation(FederationPki pki, FederationConfig config, Path appJar) {
        this.pki = pki;
        this.config = config;
        this.appJar = appJar;
    }

    /**
     * Prepares (does not start) a federation under {@code dir}.
     *
     * @param customizer adds or overrides each cluster's gateway properties, e.g. test timings or feature keys
     */
    public static Federation prepare(Path dir, Path appJar, List<ClusterSpec> clusters, Duration refreshHint,
                                     BiConsumer<ClusterSpec, Map<String, String>> customizer,
                                     Map<String, String> netnsByCluster) throws IOException {
        FederationPki pki = FederationPki.create(dir.resolve("pki"), Clock.systemUTC());
        FederationConfig config = new FederationConfig(pki, clusters, refreshHint);
        Federation federation = new Federation(pki, config, appJar);
        for (ClusterSpec c : clusters) {
            Map<String, String> properties = new LinkedHashMap<>(config.propertiesOf(c));
            customizer.accept(c, properties);
            federation.gateways.put(c.name(), new GatewayProcess(c, appJar, properties,
                    Optional.ofNullable(netnsByCluster.get(c.name()))));
        }
        return federation;
    }

    public FederationPki pki() {
        return pki;
    }

    public FederationConfig config() {
        return config;
    }

    public GatewayProcess gateway(String cluster) {
        GatewayProcess g = gateways.get(cluster);
        if (g == null) {
            throw new IllegalArgumentException("no cluster named " + cluster);
        }
        return g;
    }

    public List<GatewayProcess> gateways() {
        return new ArrayList<>(gateways.values());
    }

    /**
     * Stops the gateway of {@code cluster} (SIGTERM) and replaces it with one configured with {@code overrides} on top
     * of its properties, on the same data directory; returns the new process, not started. The federation stops it
     * on {@link #close()}.
     */
    public GatewayProcess reconfigure(String cluster, Map<String, String> overrides) throws InterruptedException {
        GatewayProcess old = gateway(cluster);
        old.stop();
        GatewayProcess next = old.reconfigured(overrides);
        gateways.put(cluster, next);
        return next;
    }

    /**
     * Every gateway starts from a JVM start-up cache kept under {@code root} once a start wrote one
     * ({@link GatewayProcess#useStartupCache}).
     */
    public Federation useStartupCache(Path root) {
        gateways.values().forEach(g -> g.useStartupCache(root));
        return this;
    }

    /** Starts every gateway, then waits until each is ready. */
    public void start(Duration readyTimeout) throws IOException, InterruptedException {
        for (GatewayProcess g : gateways.values()) {
            g.start();
        }
        for (GatewayProcess g : gateways.values()) {
            g.awaitReady(readyTimeout);
        }
    }

    /** Stops every gateway, side by side ({@link GatewayProcess#stopAll}). */
    @Override
    public void close() {
        GatewayProcess.stopAll(gateways.values());
    }
}
