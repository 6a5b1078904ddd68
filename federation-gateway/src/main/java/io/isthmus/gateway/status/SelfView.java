package io.isthmus.gateway.status;

import java.util.List;
import java.util.Objects;

/**
 * The gateway's own trust material and configuration as it runs: the federation roots it was configured with, its
 * intermediate chain, its current SVID, the bundle it publishes and where, the files it reads and their permissions,
 * and the configuration inconsistencies it found.
 *
 * @param rootsPem             the configured federation root certificates, PEM
 * @param intermediateChainPem this cluster's signing intermediate (and any chain above it but the root), PEM
 * @param bundleEndpoint       {@code host:port} its SPIFFE bundle endpoint listens on
 * @param configProblems       configuration that starts but will not work as meant, one sentence each
 */
public record SelfView(List<String> rootsPem, List<String> intermediateChainPem, SvidView gatewaySvid,
        long bundleSequence, String bundleEndpoint, List<FileView> files, List<String> configProblems,
        String pathNormalization) {

    public SelfView {
        rootsPem = List.copyOf(rootsPem);
        intermediateChainPem = List.copyOf(intermediateChainPem);
        Objects.requireNonNull(gatewaySvid, "gatewaySvid");
        Objects.requireNonNull(bundleEndpoint, "bundleEndpoint");
        files = List.copyOf(files);
        configProblems = List.copyOf(configProblems);
        Objects.requireNonNull(pathNormalization, "pathNormalization");
    }
}
