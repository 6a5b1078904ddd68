package io.isthmus.integration.federation;

import java.nio.file.Path;
import java.util.Objects;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * One cluster of a local federation: its name, trust domain, where it keeps its state, and the loopback address
 * and ports its gateway listens on. Every port is explicit so peers can be configured before anything starts.
 */
public record ClusterSpec(String name, TrustDomain trustDomain, String host, Ports ports, Path dir) {

    public ClusterSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(ports, "ports");
        Objects.requireNonNull(dir, "dir");
        if (!name.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?")) {
            throw new IllegalArgumentException("cluster name \"" + name + "\" must be a DNS label (a-z, 0-9, -)");
        }
    }

    /** The gateway's listeners and the sample service's port. */
    public record Ports(int api, int management, int bundle, int ingress, int egress, int xsite, int local, int sample) {
        /** Ports at fixed offsets from {@code base}, for a launcher whose addresses a user types. */
        public static Ports fromBase(int base) {
            return new Ports(base + 12, base + 80, base + 43, base + 44, base + 1, base + 90, base + 91, base + 50);
        }
    }

    public Path dataDir() {
        return dir.resolve("data");
    }

    public Path logFile() {
        return dir.resolve("gateway.log");
    }

    public String bundleEndpointUrl() {
        return "https://" + host + ":" + ports.bundle() + "/";
    }

    public String managementUrl(String path) {
        return "http://" + host + ":" + ports.management() + path;
    }

    /** The gateway's API (bundles, services, enrolment, admin): TLS with the gateway's SVID. */
    public String apiUrl(String path) {
        return "https://" + host + ":" + ports.api() + path;
    }

    public String ingressAddress() {
        return host + ":" + ports.ingress();
    }
}
