package io.isthmus.registry;

import java.util.Objects;

/** The registry key: an exported service of one cluster. Only the owning {@code cluster} writes it. */
public record ServiceKey(String cluster, String namespace, String name) {
    public ServiceKey {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
    }

    @Override
    public String toString() {
        return cluster + "/" + namespace + "/" + name;
    }
}
