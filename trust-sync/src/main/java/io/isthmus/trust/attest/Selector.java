package io.isthmus.trust.attest;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One fact about a Workload API caller, written as SPIRE's unix workload attestor writes it: {@code unix:uid:1000},
 * {@code unix:user:nginx}, {@code unix:gid:1000}, {@code unix:group:www-data}, {@code unix:path:/usr/bin/app},
 * {@code unix:sha256:<64 lowercase hex>}. Instances are always valid; {@link #parse} names what is wrong.
 */
public record Selector(Kind kind, String value) implements Comparable<Selector> {
    private static final Pattern NUMBER = Pattern.compile("0|[1-9][0-9]{0,9}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.][A-Za-z0-9_.-]*\\$?");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    /** The selector types this agent derives; the label is the word after {@code unix:}. */
    public enum Kind {
        UID("uid", NUMBER, "a decimal user ID such as 1000"),
        USER("user", NAME, "a user name such as nginx"),
        GID("gid", NUMBER, "a decimal group ID such as 1000"),
        GROUP("group", NAME, "a group name such as www-data"),
        PATH("path", null, "an absolute path such as /usr/bin/app"),
        SHA256("sha256", HEX64, "the SHA-256 of the binary as 64 lowercase hex digits (sha256sum prints it)");

        private final String label;
        private final Pattern pattern;
        private final String expected;

        Kind(String label, Pattern pattern, String expected) {
            this.label = label;
            this.pattern = pattern;
            this.expected = expected;
        }

        public String label() {
            return label;
        }

        boolean accepts(String value) {
            return pattern == null ? value.startsWith("/") && value.indexOf('\0') < 0 : pattern.matcher(value).matches();
        }
    }

    public Selector {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
        if (!kind.accepts(value)) {
            throw new InvalidSelectorException("selector 'unix:" + kind.label + ":" + value + "' has a bad value: expected "
                    + kind.expected);
        }
    }

    /** Parses {@code unix:<kind>:<value>}. */
    public static Selector parse(String text) {
        if (text == null) {
            throw new InvalidSelectorException("a selector is null; write unix:<uid|user|gid|group|path|sha256>:<value>");
        }
        String[] parts = text.split(":", 3);
        if (parts.length != 3 || !parts[0].equals("unix")) {
            throw new InvalidSelectorException("selector '" + text + "' is not of the form unix:<type>:<value> "
                    + "(the types are uid, user, gid, group, path, sha256)");
        }
        for (Kind k : Kind.values()) {
            if (k.label.equals(parts[1])) {
                return new Selector(k, parts[2]);
            }
        }
        throw new InvalidSelectorException("selector '" + text + "' has an unknown type '" + parts[1]
                + "'; this agent derives uid, user, gid, group, path and sha256");
    }

    public static Selector of(Kind kind, String value) {
        return new Selector(kind, value);
    }

    @Override
    public int compareTo(Selector o) {
        return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
        return "unix:" + kind.label + ":" + value;
    }
}
