package io.isthmus.proxy.authz.audit;

import java.io.IOException;
import java.io.Reader;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Reads decision logs of format {@value DecisionLogFormat#VERSION} back, line by line, as an attacker might have
 * written them: the file is outside input (anyone who can write to it, or to a copy handed to the CLI). Each line
 * is {@link #parse parsed} on its own into a checked {@link DecisionRecord} or refused with a
 * {@link LogLineProblem} and a message that quotes the input and says what was expected; a refused line never
 * stops the lines after it. Lines longer than {@link DecisionLogFormat#MAX_LINE_CHARS} are skipped as they are
 * read, so memory stays bounded whatever the file holds. Thread-safe (stateless).
 */
public final class DecisionLogReader {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z-]{0,23}");
    private static final int QUOTE_LIMIT = 80;

    private DecisionLogReader() {
    }

    /** What one line is: a record, or why it was refused. */
    public sealed interface LineResult {
        record Read(DecisionRecord record) implements LineResult {
        }

        record Refused(LogLineProblem problem, String message) implements LineResult {
        }
    }

    /** A refused line of a named source, for the operator: {@code audit.jsonl:17: version ... }. */
    public record RefusedLine(String source, long line, LogLineProblem problem, String message) {
        @Override
        public String toString() {
            return source + ":" + line + ": " + problem.code() + ": " + message;
        }
    }

    /** Counts of one read. */
    public record Stats(long lines, long records, long refused) {
    }

    /**
     * Reads every line of {@code in}, handing records and refusals over in order. Blank lines are skipped.
     *
     * @param source names the input in refusals (a file name)
     */
    public static Stats read(Reader in, String source, Consumer<DecisionRecord> records,
            Consumer<RefusedLine> refusals) throws IOException {
        Objects.requireNonNull(source, "source");
        long lines = 0;
        long read = 0;
        long refused = 0;
        BoundedLines it = new BoundedLines(in, DecisionLogFormat.MAX_LINE_CHARS);
        String line;
        while ((line = it.next()) != null) {
            lines++;
            LineResult r = line == BoundedLines.TOO_LONG
                    ? new LineResult.Refused(LogLineProblem.TOO_LONG, "the line is longer than "
                            + DecisionLogFormat.MAX_LINE_CHARS + " characters; no gateway writes such lines")
                    : line.isBlank() ? null : parse(line);
            if (r instanceof LineResult.Read ok) {
                read++;
                records.accept(ok.record());
            } else if (r instanceof LineResult.Refused no) {
                refused++;
                refusals.accept(new RefusedLine(source, lines, no.problem(), no.message()));
            }
        }
        return new Stats(lines, read, refused);
    }

    /** Parses one line (without its terminator). Pure. */
    public static LineResult parse(String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonEOFException e) {
            return refuse(LogLineProblem.TRUNCATED, "the line ends inside its JSON object (" + quote(tail(line))
                    + " is its end): it was cut off, e.g. by a crash or a full disk");
        } catch (StreamReadException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("Duplicate field")) {
                return refuse(LogLineProblem.DUPLICATE_FIELD, e.getOriginalMessage()
                        + ": a gateway writes each field once, so the line was edited");
            }
            return refuse(LogLineProblem.NOT_JSON, "not JSON: " + e.getOriginalMessage() + " in " + quote(line));
        } catch (JsonProcessingException e) {
            return refuse(LogLineProblem.NOT_JSON, "not JSON: " + e.getOriginalMessage() + " in " + quote(line));
        }
        if (n == null || !n.isObject()) {
            return refuse(LogLineProblem.NOT_AN_OBJECT, "expected a JSON object, got " + quote(line));
        }
        try {
            return new LineResult.Read(new Fields(n).record());
        } catch (Refusal r) {
            return refuse(r.problem, r.getMessage());
        }
    }

    private static LineResult refuse(LogLineProblem problem, String message) {
        return new LineResult.Refused(problem, message);
    }

    /** Why a field is wrong; only ever thrown and caught inside {@link #parse}. */
    private static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        final transient LogLineProblem problem;

        Refusal(LogLineProblem problem, String message) {
            super(message, null, false, false);
            this.problem = problem;
        }
    }

    private record Fields(JsonNode n) {
        DecisionRecord record() throws Refusal {
            version();
            Instant time = time();
            DecisionRecord.Verdict verdict = verdict(n, "");
            String mode = oneOf("", "mode", "enforce", "observe");
            Optional<DecisionRecord.Verdict> observed = n.hasNonNull("observed")
                    ? Optional.of(verdict(object("observed"), "observed.")) : Optional.empty();
            Optional<DecisionRecord.Verdict> dryRun = n.hasNonNull("dry_run")
                    ? Optional.of(verdict(object("dry_run"), "dry_run.")) : Optional.empty();
            boolean observing = mode.equals("observe");
            if (observing != observed.isPresent()) {
                throw new Refusal(LogLineProblem.INCONSISTENT, observing
                        ? "\"mode\":\"observe\" without the \"observed\" verdict"
                        : "an \"observed\" verdict with \"mode\":\"enforce\"");
            }
            if (observing && !verdict.allowed()) {
                throw new Refusal(LogLineProblem.INCONSISTENT, "observe mode never denies, but the line says "
                        + "\"decision\":\"deny\"");
            }
            SpiffeId caller = spiffeId("caller", true).orElseThrow();
            String callerTd = text("caller_trust_domain");
            if (!caller.trustDomain().name().equals(callerTd)) {
                throw new Refusal(LogLineProblem.INCONSISTENT, "\"caller_trust_domain\" " + quote(callerTd)
                        + " is not the trust domain of the caller " + quote(caller.toString()));
            }
            Optional<SpiffeId> peerGateway = spiffeId("peer_gateway", false);
            MeshName destination = destination();
            int port = port();
            String protocol = oneOf("", "protocol", "http", "tcp");
            Optional<String> method = optionalText("method");
            Optional<String> path = optionalText("path");
            if (protocol.equals("tcp") && (method.isPresent() || path.isPresent())) {
                throw new Refusal(LogLineProblem.INCONSISTENT, "a \"tcp\" line has no method or path");
            }
            if (protocol.equals("http") && (method.isEmpty() || path.isEmpty())) {
                throw new Refusal(LogLineProblem.MISSING_FIELD, "an \"http\" line needs \"method\" and \"path\"");
            }
            if (method.isPresent() && !METHOD.matcher(method.get()).matches()) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"method\" " + quote(method.get())
                        + " is not an HTTP method (upper-case letters)");
            }
            if (path.isPresent()) {
                checkPath(path.get());
            }
            return new DecisionRecord(time, verdict, observing, caller, clusterName("source_cluster"), peerGateway,
                    destination, clusterName("destination_cluster"), port, method, path, observed, dryRun);
        }

        void version() throws Refusal {
            JsonNode v = n.get(DecisionLogFormat.VERSION_FIELD);
            if (v == null) {
                throw new Refusal(LogLineProblem.MISSING_VERSION, "no \"version\" field: not a line of a decision "
                        + "log of version " + DecisionLogFormat.VERSION + " (gateways before it wrote none, and "
                        + "their lines cannot be read); expected {\"version\":" + DecisionLogFormat.VERSION + ",...}");
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new Refusal(LogLineProblem.UNSUPPORTED_VERSION, "\"version\" is " + quote(v.toString())
                        + ", not a version number; this isthmus reads version " + DecisionLogFormat.VERSION);
            }
            int version = v.intValue();
            if (version > DecisionLogFormat.VERSION) {
                throw new Refusal(LogLineProblem.UNSUPPORTED_VERSION, "\"version\":" + version + " is newer than "
                        + "the version this isthmus reads (" + DecisionLogFormat.VERSION + "): upgrade the isthmus "
                        + "CLI to read it");
            }
            if (version != DecisionLogFormat.VERSION) {
                throw new Refusal(LogLineProblem.UNSUPPORTED_VERSION, "\"version\":" + version + " was never "
                        + "written by a gateway; this isthmus reads version " + DecisionLogFormat.VERSION);
            }
        }

        Instant time() throws Refusal {
            String t = text("time");
            try {
                return Instant.parse(t);
            } catch (DateTimeParseException e) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"time\" " + quote(t)
                        + " is not an ISO-8601 UTC instant (2026-11-23T10:00:00.123Z)");
            }
        }

        DecisionRecord.Verdict verdict(JsonNode o, String prefix) throws Refusal {
            Fields f = new Fields(o);
            String decision = f.oneOf(prefix, "decision", "allow", "deny");
            String reason = f.text(prefix, "reason");
            boolean allowed = decision.equals("allow");
            if (allowed ? !reason.equals("allowed") : DenyReason.ofCode(reason).isEmpty()) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"" + prefix + "reason\" " + quote(reason)
                        + " is not a reason of a" + (allowed ? "n allow (\"allowed\")" : " deny in version "
                                + DecisionLogFormat.VERSION));
            }
            Optional<String> policy = f.nullableText(prefix, "policy");
            Optional<String> rule = f.nullableText(prefix, "rule");
            if (policy.isEmpty() && rule.isPresent()) {
                throw new Refusal(LogLineProblem.INCONSISTENT, "\"" + prefix + "rule\" without a policy");
            }
            return new DecisionRecord.Verdict(allowed, reason, policy, rule);
        }

        MeshName destination() throws Refusal {
            String host = text("destination");
            String service = text("service");
            String namespace = text("namespace");
            String head = service + "." + namespace + ".";
            if (!host.startsWith(head) || host.length() == head.length()) {
                throw new Refusal(LogLineProblem.INCONSISTENT, "\"destination\" " + quote(host) + " is not "
                        + quote(head + "<suffix>") + " of its \"service\" and \"namespace\"");
            }
            Optional<MeshName> parsed = MeshName.parseHost(host, host.substring(head.length()));
            if (parsed.isEmpty() || !parsed.get().service().equals(service)
                    || !parsed.get().namespace().equals(namespace)) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"destination\" " + quote(host)
                        + " is not a mesh name <service>.<namespace>.<suffix> of DNS labels");
            }
            return parsed.get();
        }

        int port() throws Refusal {
            JsonNode p = n.get("port");
            if (p == null || p.isNull()) {
                throw new Refusal(LogLineProblem.MISSING_FIELD, "no \"port\"");
            }
            if (!p.isIntegralNumber() || !p.canConvertToInt() || p.intValue() < 1 || p.intValue() > 65535) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"port\" " + quote(p.toString())
                        + " is not a port number (1-65535)");
            }
            return p.intValue();
        }

        Optional<SpiffeId> spiffeId(String field, boolean required) throws Refusal {
            Optional<String> text = required ? Optional.of(text(field)) : nullableText("", field);
            if (text.isEmpty()) {
                return Optional.empty();
            }
            Optional<SpiffeId> id = SpiffeId.tryParse(text.get());
            if (id.isEmpty()) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"" + field + "\" " + quote(text.get())
                        + " is not a SPIFFE ID (spiffe://<trust domain>/<path>)");
            }
            return id;
        }

        Optional<String> clusterName(String field) throws Refusal {
            Optional<String> name = nullableText("", field);
            if (name.isPresent() && (name.get().isEmpty() || name.get().length() > 253
                    || name.get().chars().anyMatch(c -> c <= ' ' || c >= 0x7f))) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"" + field + "\" " + quote(name.get())
                        + " is not a cluster name (1-253 printable ASCII characters, no spaces)");
            }
            return name;
        }

        void checkPath(String path) throws Refusal {
            if (!path.startsWith("/")) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"path\" " + quote(path) + " does not start "
                        + "with '/' (the log holds the normalized path policy saw)");
            }
            for (int i = 0; i < path.length(); i++) {
                char c = path.charAt(i);
                if (c <= ' ' || c >= 0x7f || c == '?' || c == '#') {
                    throw new Refusal(LogLineProblem.INVALID_FIELD, "\"path\" " + quote(path) + " has "
                            + (c == '?' || c == '#' ? "'" + c + "' (the log holds paths without query or fragment)"
                                    : String.format("U+%04X at %d: the ingress forwards only printable ASCII "
                                            + "(other bytes percent-encoded)", (int) c, i)));
                }
            }
        }

        JsonNode object(String field) throws Refusal {
            JsonNode o = n.get(field);
            if (!o.isObject()) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"" + field + "\" is " + quote(o.toString())
                        + ", expected an object or null");
            }
            return o;
        }

        String oneOf(String prefix, String field, String... values) throws Refusal {
            String v = text(prefix, field);
            for (String allowed : values) {
                if (allowed.equals(v)) {
                    return v;
                }
            }
            throw new Refusal(LogLineProblem.INVALID_FIELD, "\"" + prefix + field + "\" " + quote(v)
                    + " is not one of " + String.join(", ", values));
        }

        String text(String field) throws Refusal {
            return text("", field);
        }

        String text(String prefix, String field) throws Refusal {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                throw new Refusal(LogLineProblem.MISSING_FIELD, "no \"" + prefix + field + "\"");
            }
            if (!v.isTextual()) {
                throw new Refusal(LogLineProblem.INVALID_FIELD, "\"" + prefix + field + "\" is "
                        + quote(v.toString()) + ", expected a string");
            }
            return v.asText();
        }

        Optional<String> optionalText(String field) throws Refusal {
            return n.has(field) ? nullableText("", field) : Optional.empty();
        }

        Optional<String> nullableText(String prefix, String field) throws Refusal {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                return Optional.empty();
            }
            return Optional.of(text(prefix, field));
        }
    }

    /** The input, quoted, with control characters escaped and cut to a readable length. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        int n = Math.min(s.length(), QUOTE_LIMIT);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        b.append('"');
        if (s.length() > QUOTE_LIMIT) {
            b.append(" (").append(s.length()).append(" characters, cut)");
        }
        return b.toString();
    }

    private static String tail(String s) {
        return s.length() <= 20 ? s : s.substring(s.length() - 20);
    }

    /** Lines of a reader, each at most {@code max} characters; a longer one is skipped and reported once. */
    private static final class BoundedLines {
        static final String TOO_LONG = new String("(too long)");
        private final Reader in;
        private final int max;
        private final char[] buf = new char[8192];
        private int pos;
        private int len;
        private boolean eof;

        BoundedLines(Reader in, int max) {
            this.in = in;
            this.max = max;
        }

        String next() throws IOException {
            StringBuilder line = new StringBuilder();
            boolean tooLong = false;
            while (true) {
                if (pos == len) {
                    if (eof) {
                        return line.length() == 0 && !tooLong ? null : finish(line, tooLong);
                    }
                    len = in.read(buf);
                    pos = 0;
                    if (len <= 0) {
                        len = 0;
                        eof = true;
                        continue;
                    }
                }
                int start = pos;
                while (pos < len && buf[pos] != '\n') {
                    pos++;
                }
                if (!tooLong) {
                    line.append(buf, start, pos - start);
                    if (line.length() > max) {
                        tooLong = true;
                        line.setLength(0);
                    }
                }
                if (pos < len) {
                    pos++;
                    return finish(line, tooLong);
                }
            }
        }

        private static String finish(StringBuilder line, boolean tooLong) {
            if (tooLong) {
                return TOO_LONG;
            }
            int n = line.length();
            if (n > 0 && line.charAt(n - 1) == '\r') {
                line.setLength(n - 1);
            }
            return line.toString();
        }
    }
}
