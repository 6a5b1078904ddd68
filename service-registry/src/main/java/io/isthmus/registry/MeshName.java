package io.isthmus.registry;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * How a workload anywhere names a federated service: {@code <service>.<namespace>.svc.clusterset.local} (the
 * Kubernetes Multi-Cluster Services convention). The suffix is configurable; service and namespace are DNS-1123
 * labels as Kubernetes requires.
 */
public record MeshName(String service, String namespace, String suffix) {
    public static final String DEFAULT_SUFFIX = "svc.clusterset.local";
    /** A DNS-1123 label's longest length. */
    static final int MAX_LABEL = 63;

    public MeshName {
        Objects.requireNonNull(suffix, "suffix");
        if (!isLabel(service)) {
            throw new IllegalArgumentException("service name '" + service + "' is not a DNS-1123 label "
                    + "(lowercase letters, digits, '-', at most 63 characters)");
        }
        if (!isLabel(namespace)) {
            throw new IllegalArgumentException("namespace '" + namespace + "' is not a DNS-1123 label "
                    + "(lowercase letters, digits, '-', at most 63 characters)");
        }
    }

    /**
     * A DNS-1123 label: 1 to 63 of lowercase letters, digits and '-', beginning and ending with a letter or digit
     * ({@code [a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?}). Checked by hand rather than by that regular expression: every
     * request through a gateway parses its mesh name, and the matcher cost more than the rest of the parse.
     */
    static boolean isLabel(String s) {
        if (s == null || s.isEmpty() || s.length() > MAX_LABEL) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean alphanumeric = c >= 'a' && c <= 'z' || c >= '0' && c <= '9';
            if (!alphanumeric && (c != '-' || i == 0 || i == s.length() - 1)) {
                return false;
            }
        }
        return true;
    }

    public static MeshName of(String service, String namespace) {
        return new MeshName(service, namespace, DEFAULT_SUFFIX);
    }

    /**
     * Parses a host name such as {@code payments.billing.svc.clusterset.local} (a trailing dot and any
     * {@code :port} are ignored; case-insensitive as DNS is). Empty when the host is not under {@code suffix}.
     */
    public static Optional<MeshName> parseHost(String host, String suffix) {
        if (host == null) {
            return Optional.empty();
        }
        String h = host.toLowerCase(Locale.ROOT);
        int colon = h.lastIndexOf(':');
        if (colon >= 0 && h.indexOf(']') < colon) {
            h = h.substring(0, colon);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        String tail = "." + suffix;
        if (!h.endsWith(tail)) {
            return Optional.empty();
        }
        String head = h.substring(0, h.length() - tail.length());
        int dot = head.indexOf('.');
        if (dot <= 0 || head.indexOf('.', dot + 1) >= 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(new MeshName(head.substring(0, dot), head.substring(dot + 1), suffix));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    public String host() {
        return service + "." + namespace + "." + suffix;
    }

    @Override
    public String toString() {
        return host();
    }
}
