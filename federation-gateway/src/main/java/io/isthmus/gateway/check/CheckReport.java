package io.isthmus.gateway.check;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;

import io.isthmus.gateway.status.StatusJson;
import io.isthmus.trust.text.Printable;

/**
 * Renders check results: one line per check, {@code ✓} or {@code ✗}, the check's name and subject, the cause, and for
 * a failure an indented {@code fix:} line; or, with {@code -o json}, {@code {"gateway", "ok", "checks": [...]}}.
 *
 * <p>Causes quote what peers chose (their ingress address, their bundle's strings, a probe's error), so the text form
 * {@linkplain Printable#escape escapes} every control character before it reaches the operator's terminal: a peer
 * cannot erase a {@code ✗} line or print a passing one over it. The JSON form is escaped by JSON itself.
 */
public final class CheckReport {
    private CheckReport() {
    }

    public static boolean allPassed(List<CheckResult> results) {
        return results.stream().allMatch(CheckResult::ok);
    }

    public static String text(String heading, List<CheckResult> results) {
        int width = results.stream().mapToInt(r -> label(r).length()).max().orElse(0);
        StringBuilder sb = new StringBuilder(Printable.escape(heading)).append('\n');
        for (CheckResult r : results) {
            sb.append(r.ok() ? "✓ " : "✗ ").append(String.format("%-" + width + "s", label(r))).append("  ")
                    .append(Printable.escape(r.cause())).append('\n');
            if (!r.ok()) {
                sb.append("  ").append(" ".repeat(width)).append("  fix: ").append(Printable.escape(r.fix())).append('\n');
            }
        }
        long failed = results.stream().filter(r -> !r.ok()).count();
        sb.append(failed == 0 ? "all " + results.size() + " checks passed" : failed + " of " + results.size()
                + " checks failed").append('\n');
        return sb.toString();
    }

    public static String json(String gateway, List<CheckResult> results) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("gateway", gateway);
        doc.put("ok", allPassed(results));
        doc.put("checks", results);
        try {
            // Only ASCII escapes: the CLI's TerminalWriter would otherwise write a C1 control, a bidi override or DEL
            // in a string as a backslash-x escape, which is no JSON. DEL is ASCII, so JSON's own escape is written here.
            return StatusJson.mapper().writerWithDefaultPrettyPrinter().with(JsonWriteFeature.ESCAPE_NON_ASCII)
                    .writeValueAsString(doc).replace("\u007f", "\\u007F");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("check results cannot fail to serialize", e);
        }
    }

    private static String label(CheckResult r) {
        return Printable.escape(r.subject().isEmpty() ? r.check() : r.check() + " " + r.subject());
    }
}
