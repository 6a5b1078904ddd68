package io.isthmus.proxy.authz.policy;

import java.util.Objects;

/** A policy's {@code <namespace>/<name>}, as it appears in decisions, the audit log and errors. */
public record PolicyId(String namespace, String name) implements Comparable<PolicyId> {
    public PolicyId {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
    }

    @Override
    public int compareTo(PolicyId o) {
        int c = namespace.compareTo(o.namespace);
        return c != 0 ? c : name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
