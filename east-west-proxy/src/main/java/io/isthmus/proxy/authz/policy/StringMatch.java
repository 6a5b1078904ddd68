package io.isthmus.proxy.authz.policy;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One value of a policy field, Istio style: {@code *} matches anything, {@code abc*} is a prefix match,
 * {@code *abc} a suffix match, anything else an exact match. A {@code *} anywhere else is invalid, except in a
 * {@link PathTemplate} ({@code /orders/{*}/items}), which only paths may use.
 */
public record StringMatch(Kind kind, String value, boolean ignoreCase) {

    public enum Kind { ANY, EXACT, PREFIX, SUFFIX, TEMPLATE }

    public StringMatch {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
        if (ignoreCase) {
            value = value.toLowerCase(Locale.ROOT);
        }
    }

    /** A path template already checked by {@link PathTemplate#error}. */
    public static StringMatch pathTemplate(String template) {
        if (PathTemplate.error(template) != null) {
            throw new IllegalArgumentException(template + ": " + PathTemplate.error(template));
        }
        return new StringMatch(Kind.TEMPLATE, template, false);
    }

    /**
     * Parses a pattern; empty when it is malformed, with {@link #patternError} saying why.
     */
    public static Optional<StringMatch> parse(String pattern, boolean ignoreCase) {
        if (patternError(pattern) != null) {
            return Optional.empty();
        }
        if (pattern.equals("*")) {
            return Optional.of(new StringMatch(Kind.ANY, "", ignoreCase));
        }
        if (pattern.startsWith("*")) {
            return Optional.of(new StringMatch(Kind.SUFFIX, pattern.substring(1), ignoreCase));
        }
        if (pattern.endsWith("*")) {
            return Optional.of(new StringMatch(Kind.PREFIX, pattern.substring(0, pattern.length() - 1), ignoreCase));
        }
        return Optional.of(new StringMatch(Kind.EXACT, pattern, ignoreCase));
    }

    /** Why {@code pattern} is not a valid match pattern, or null when it is. */
    public static String patternError(String pattern) {
        if (pattern == null || pattern.isEmpty()) {
            return "must not be empty";
        }
        if (pattern.equals("*")) {
            return null;
        }
        int star = pattern.indexOf('*');
        if (star < 0) {
            return null;
        }
        boolean onlyAtStart = star == 0 && pattern.indexOf('*', 1) < 0;
        boolean onlyAtEnd = star == pattern.length() - 1;
        if (!onlyAtStart && !onlyAtEnd) {
            return "'*' is allowed only as the whole value, at the start (suffix match, \"*/sa/checkout\") "
                    + "or at the end (prefix match, \"spiffe://td/ns/shop/*\")";
        }
        return null;
    }

    /**
     * Whether {@link #matches} gives a trustworthy answer for {@code subject}: false only for a path template and a
     * path that is {@link PathTemplate#ambiguous}, which policy must then treat as unknown (fail closed).
     */
    public boolean decidable(String subject) {
        return kind != Kind.TEMPLATE || !PathTemplate.ambiguous(subject);
    }

    public boolean matches(String subject) {
        String s = ignoreCase ? subject.toLowerCase(Locale.ROOT) : subject;
        return switch (kind) {
            case ANY -> true;
            case EXACT -> s.equals(value);
            case PREFIX -> s.startsWith(value);
            case SUFFIX -> s.endsWith(value);
            case TEMPLATE -> PathTemplate.matches(value, s);
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case ANY -> "*";
            case EXACT -> value;
            case PREFIX -> value + "*";
            case SUFFIX -> "*" + value;
            case TEMPLATE -> value;
        };
    }
}
