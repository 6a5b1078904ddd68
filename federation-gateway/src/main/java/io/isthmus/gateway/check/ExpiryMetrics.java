package io.isthmus.gateway.check;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code isthmus_cert_expiry_seconds{kind=...[,serial=...]}} from a gateway's Prometheus text: the time left
 * on each certificate as the gateway itself computes it. Keys are {@code kind/serial} when the series names a serial,
 * and {@code kind} for the shortest of each kind. Pure.
 */
public final class ExpiryMetrics {
    private static final Pattern SERIES = Pattern.compile("^isthmus_cert_expiry_seconds\\{([^}]*)}\\s+(\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    private ExpiryMetrics() {
    }

    public static Map<String, Duration> parse(String prometheusText) {
        Map<String, Duration> out = new HashMap<>();
        for (String line : prometheusText.split("\n")) {
            Matcher m = SERIES.matcher(line);
            if (!m.find()) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            Matcher l = LABEL.matcher(m.group(1));
            while (l.find()) {
                labels.put(l.group(1), l.group(2));
            }
            String kind = labels.get("kind");
            double seconds;
            try {
                seconds = Double.parseDouble(m.group(2));
            } catch (NumberFormatException e) {
                continue;
            }
            if (kind == null || Double.isNaN(seconds)) {
                continue;
            }
            Duration left = Duration.ofMillis((long) (seconds * 1000));
            if (labels.containsKey("serial")) {
                out.put(kind + "/" + labels.get("serial"), left);
            }
            out.merge(kind, left, (a, b) -> a.compareTo(b) <= 0 ? a : b);
        }
        return out;
    }
}
