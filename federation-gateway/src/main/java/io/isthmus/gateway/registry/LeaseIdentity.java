package io.isthmus.gateway.registry;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * This replica's holder identity in the export Lease, and where it came from. It must outlive the process: a replica
 * restarted after a crash finds its predecessor's unreleased Lease under the same identity and takes it over at once
 * ({@link io.isthmus.registry.kubernetes.OwnLease}), where a new identity would wait the Lease out (15 s). In
 * Kubernetes the pod name is that identity (a restarted container keeps it). Outside, the host name plus the data
 * directory: a restart keeps both, and two replicas on one host cannot share a data directory anyway (they would
 * overwrite each other's keys). A live process found renewing the Lease under the same identity is refused the
 * Lease, not shared with.
 *
 * @param value the holder identity written into the Lease
 * @param source where it came from, for the log line
 */
public record LeaseIdentity(String value, Source source) {
    public LeaseIdentity {
        Objects.requireNonNull(source, "source");
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("a Lease holder identity must not be blank");
        }
    }

    /** Where the identity came from. */
    public enum Source {
        CONFIGURED("isthmus.registry.kubernetes.leader-election.identity"),
        POD_NAME("POD_NAME"),
        HOSTNAME_IN_KUBERNETES("HOSTNAME (in Kubernetes, the pod name)"),
        HOST_AND_DATA_DIR("host name and isthmus.data-dir");

        private final String description;

        Source(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    /**
     * @param configured {@code isthmus.registry.kubernetes.leader-election.identity}
     * @param env the process environment
     * @param host this machine's host name
     * @param dataDir {@code isthmus.data-dir}
     */
    public static LeaseIdentity choose(Optional<String> configured, Function<String, Optional<String>> env, String host,
            Path dataDir) {
        Optional<String> set = configured.map(String::strip).filter(s -> !s.isEmpty());
        if (set.isPresent()) {
            return new LeaseIdentity(set.get(), Source.CONFIGURED);
        }
        Optional<String> pod = nonBlank(env.apply("POD_NAME"));
        if (pod.isPresent()) {
            return new LeaseIdentity(pod.get(), Source.POD_NAME);
        }
        // Outside Kubernetes HOSTNAME is the host's name when a shell exported it: shared by every replica on the host.
        Optional<String> hostname = nonBlank(env.apply("HOSTNAME"));
        if (hostname.isPresent() && nonBlank(env.apply("KUBERNETES_SERVICE_HOST")).isPresent()) {
            return new LeaseIdentity(hostname.get(), Source.HOSTNAME_IN_KUBERNETES);
        }
        return new LeaseIdentity(host + ":" + dataDir.toAbsolutePath().normalize(), Source.HOST_AND_DATA_DIR);
    }

    private static Optional<String> nonBlank(Optional<String> s) {
        return s.map(String::strip).filter(v -> !v.isEmpty());
    }
}
