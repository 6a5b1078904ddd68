package io.isthmus.gateway.check;

import java.time.Duration;

/** Durations as people read them in check output: {@code 2 d 3 h}, {@code 4 min}, {@code 12.3 s}. */
final class Durations {
    private Durations() {
    }

    static String human(Duration d) {
        Duration a = d.abs();
        String sign = d.isNegative() ? "-" : "";
        if (a.toDays() >= 1) {
            return sign + a.toDays() + " d " + a.toHoursPart() + " h";
        }
        if (a.toHours() >= 1) {
            return sign + a.toHours() + " h " + a.toMinutesPart() + " min";
        }
        if (a.toMinutes() >= 1) {
            return sign + a.toMinutes() + " min " + a.toSecondsPart() + " s";
        }
        return sign + String.format(java.util.Locale.ROOT, "%.1f s", a.toMillis() / 1000.0);
    }
}
