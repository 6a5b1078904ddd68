package io.isthmus.gateway.check;

import java.util.Objects;

/**
 * One line of {@code isthmus check}: which check, about what, whether it passed, the cause in words, and for a
 * failure what to do about it.
 *
 * @param check   a stable name ({@code peer-bundle}, {@code clock-skew}, ...), for scripts reading {@code -o json}
 * @param subject what it is about (a peer, a file, a source), or empty for the gateway itself
 * @param fix     empty when the check passed
 */
public record CheckResult(String check, String subject, boolean ok, String cause, String fix) {
    public CheckResult {
        Objects.requireNonNull(check, "check");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(cause, "cause");
        Objects.requireNonNull(fix, "fix");
        if (ok && !fix.isEmpty()) {
            throw new IllegalArgumentException("a passed check has nothing to fix: " + check + " " + subject);
        }
        if (!ok && fix.isEmpty()) {
            throw new IllegalArgumentException("a failed check must say what to do: " + check + " " + subject);
        }
    }

    static CheckResult pass(String check, String subject, String cause) {
        return new CheckResult(check, subject, true, cause, "");
    }

    static CheckResult fail(String check, String subject, String cause, String fix) {
        return new CheckResult(check, subject, false, cause, fix);
    }
}
