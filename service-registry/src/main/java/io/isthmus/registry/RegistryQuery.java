package io.isthmus.registry;

import java.time.Instant;
import java.util.Optional;

/** A filter over registry entries; empty fields match everything. */
public record RegistryQuery(Optional<String> namespace, Optional<String> cluster, Optional<Boolean> stale) {
    public static final RegistryQuery ALL = new RegistryQuery(Optional.empty(), Optional.empty(), Optional.empty());

    public RegistryQuery {
        namespace = namespace.filter(s -> !s.isBlank());
        cluster = cluster.filter(s -> !s.isBlank());
    }

    public static RegistryQuery cluster(String cluster) {
        return new RegistryQuery(Optional.empty(), Optional.of(cluster), Optional.empty());
    }

    public boolean matches(ExportedService e, Instant now) {
        return namespace.map(n -> n.equals(e.key().namespace())).orElse(true)
                && cluster.map(c -> c.equals(e.key().cluster())).orElse(true)
                && stale.map(s -> s == e.stale(now)).orElse(true);
    }
}
