package io.isthmus.proxy.authz.suggest;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import io.isthmus.proxy.authz.policy.PathTemplate;

/**
 * Turns an observed path into the segments of a path template (see {@link PathTemplate}): segments that look like
 * ids become {@code {*}} (numbers, UUIDs, hex ids), a segment a policy cannot match literally becomes {@code {*}},
 * and a path deeper than {@value #MAX_SEGMENTS} segments ends in {@code {**}}. Every other segment is kept as it
 * is, so the template matches the observed path and as little else as the rules allow. Pure; linear in the length
 * of the path; thread-safe.
 */
public final class PathGeneralizer {
    /** Segments kept before the rest is covered by {@code {**}}: far deeper than real APIs, small enough to bound memory. */
    public static final int MAX_SEGMENTS = 64;
    private static final int HEX_ID_MIN = 8;

    private PathGeneralizer() {
    }

    /** An observed path as template segments, with what was generalized. */
    public record GeneralizedPath(List<String> segments, Set<Generalization> generalizations) {
        public GeneralizedPath {
            segments = List.copyOf(segments);
            generalizations = generalizations.isEmpty() ? Set.of() : EnumSet.copyOf(generalizations);
        }

        /** {@code /orders/{*}/items}. */
        public String template() {
            return "/" + String.join("/", segments);
        }
    }

    /**
     * @param path an absolute path without query, as the decision log holds it
     * @throws IllegalArgumentException when it does not start with {@code /}
     */
    public static GeneralizedPath generalize(String path) {
        Objects.requireNonNull(path, "path");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("path " + path + " does not start with '/'");
        }
        List<String> out = new ArrayList<>();
        EnumSet<Generalization> how = EnumSet.noneOf(Generalization.class);
        int start = 1;
        while (true) {
            int end = path.indexOf('/', start);
            // {**} matches one or more segments: a lone trailing empty segment is kept as itself instead.
            if (out.size() == MAX_SEGMENTS && start < path.length()) {
                out.add(PathTemplate.REST);
                how.add(Generalization.DEEP);
                break;
            }
            String segment = path.substring(start, end < 0 ? path.length() : end);
            Generalization g = classify(segment);
            if (g == null) {
                out.add(segment);
            } else {
                out.add(PathTemplate.ONE);
                how.add(g);
            }
            if (end < 0) {
                break;
            }
            start = end + 1;
        }
        return new GeneralizedPath(out, how);
    }

    /** What makes {@code segment} variable, or null when it is kept literally. */
    static Generalization classify(String segment) {
        if (segment.isEmpty()) {
            return null;
        }
        if (segment.indexOf('*') >= 0 || segment.indexOf('{') >= 0 || segment.indexOf('}') >= 0) {
            return Generalization.UNMATCHABLE;
        }
        if (allDigits(segment)) {
            return Generalization.NUMBER;
        }
        if (isUuid(segment)) {
            return Generalization.UUID;
        }
        if (segment.length() >= HEX_ID_MIN && allHex(segment) && hasDigit(segment)) {
            return Generalization.HEX_ID;
        }
        return null;
    }

    private static boolean allDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean allHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.digit(s.charAt(i), 16) < 0 || s.charAt(i) > 'f') {
                return false;
            }
        }
        return true;
    }

    private static boolean hasDigit(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                return true;
            }
        }
        return false;
    }

    private static boolean isUuid(String s) {
        if (s.length() != 36) {
            return false;
        }
        for (int i = 0; i < 36; i++) {
            char c = s.charAt(i);
            boolean dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? c != '-' : Character.digit(c, 16) < 0 || c > 'f') {
                return false;
            }
        }
        return true;
    }
}
