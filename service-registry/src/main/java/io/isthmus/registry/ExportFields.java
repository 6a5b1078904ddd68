package io.isthmus.registry;

import java.util.Optional;

import io.isthmus.trust.text.Printable;

/**
 * The free-text fields of an export, as every site must find them in a record it receives: its owner chose them, and a
 * compromised owner may choose anything. Before this check a peer's record could carry a namespace or name that is no
 * DNS-1123 label (the federation status then failed to build, since a mesh name refuses it) and terminal escapes or
 * line breaks in its ingress host, region, zone or port names, which operators read in {@code isthmus check}, the
 * federation page and the log. Lenient where real values vary (IPv6 literals, topology labels with upper case, dots
 * and underscores), strict about everything a terminal or a log reader acts on. Pure and thread-safe.
 */
public final class ExportFields {
    /** A DNS name's longest length, and so of an ingress host. */
    static final int MAX_HOST = 253;

    /** One constant per rule; {@link #message} quotes the field. */
    public enum Error {
        NAMESPACE_NOT_A_LABEL("namespace"),
        NAME_NOT_A_LABEL("service name"),
        BAD_PORT_NAME("port name"),
        BAD_INGRESS_HOST("ingress host"),
        BAD_REGION("region"),
        BAD_ZONE("zone");

        private final String field;

        Error(String field) {
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /** A field that breaks its rule: which, and a message quoting it (escaped) and saying what is expected. */
    public record Problem(Error error, String message) {
    }

    private ExportFields() {
    }

    /** The first rule {@code e} breaks, if any. */
    public static Optional<Problem> check(ExportedService e) {
        ServiceKey k = e.key();
        if (!MeshName.isLabel(k.namespace())) {
            return problem(Error.NAMESPACE_NOT_A_LABEL, k.namespace(), "a DNS-1123 label (lowercase letters, digits, "
                    + "'-', at most 63 characters)");
        }
        if (!MeshName.isLabel(k.name())) {
            return problem(Error.NAME_NOT_A_LABEL, k.name(), "a DNS-1123 label (lowercase letters, digits, '-', at most"
                    + " 63 characters)");
        }
        for (ServicePort p : e.ports()) {
            if (!isToken(p.name(), 0, MeshName.MAX_LABEL, "")) {
                return problem(Error.BAD_PORT_NAME, p.name(), "at most 63 letters, digits, '.', '_' or '-'");
            }
        }
        return location(e.ingress(), e.locality());
    }

    /** The first rule an ingress address or a locality breaks, if any (also this cluster's own, at startup). */
    public static Optional<Problem> location(IngressAddress ingress, Locality locality) {
        if (!isToken(ingress.host(), 1, MAX_HOST, ":[]%")) {
            return problem(Error.BAD_INGRESS_HOST, ingress.host(), "a host name or IP address (1-253 letters, digits,"
                    + " '.', '_', '-', or an IPv6 literal)");
        }
        if (!isToken(locality.region(), 0, MeshName.MAX_LABEL, "")) {
            return problem(Error.BAD_REGION, locality.region(), "a topology label value (at most 63 letters, digits, "
                    + "'.', '_' or '-')");
        }
        if (!isToken(locality.zone(), 0, MeshName.MAX_LABEL, "")) {
            return problem(Error.BAD_ZONE, locality.zone(), "a topology label value (at most 63 letters, digits, "
                    + "'.', '_' or '-')");
        }
        return Optional.empty();
    }

    private static Optional<Problem> problem(Error error, String value, String expected) {
        return Optional.of(new Problem(error, error.field() + " '" + Printable.escape(
                value.length() > 80 ? value.substring(0, 80) + "..." : value) + "' is not " + expected));
    }

    private static boolean isToken(String s, int min, int max, String extra) {
        if (s.length() < min || s.length() > max) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
                    || c == '-' || extra.indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
