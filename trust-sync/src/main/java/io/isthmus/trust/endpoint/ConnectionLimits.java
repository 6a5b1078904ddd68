package io.isthmus.trust.endpoint;

import java.time.Duration;
import java.util.Objects;

/**
 * How many connections a listener holds open at once: from one client address ({@code perClient}) and in all
 * ({@code total}). A connection over either is closed at once, before any TLS work. Refusals are logged at most once
 * per client address per {@code warnInterval}.
 *
 * @param settings the configuration prefix of the two limits, which messages name (e.g.
 *                 {@code isthmus.bundle-endpoint}: {@code isthmus.bundle-endpoint.max-connections-per-client} and
 *                 {@code .max-connections})
 */
public record ConnectionLimits(String settings, int perClient, int total, Duration warnInterval) {
    /** The bundle endpoint's settings prefix. */
    public static final String BUNDLE_ENDPOINT = "isthmus.bundle-endpoint";

    /**
     * The bundle endpoint's: 16 per client (a gateway needs 1-2 at a time), 1,024 in all (well under a default
     * 65,536 file limit).
     */
    public static final ConnectionLimits DEFAULTS = new ConnectionLimits(16, 1024, Duration.ofMinutes(1));

    public ConnectionLimits {
        Objects.requireNonNull(settings, "settings");
        if (perClient < 1) {
            throw new IllegalArgumentException(perClientSetting(settings) + " is " + perClient + ", expected 1 or more");
        }
        if (total < perClient) {
            throw new IllegalArgumentException(totalSetting(settings) + " is " + total + ", expected at least "
                    + "max-connections-per-client (" + perClient + ")");
        }
        Objects.requireNonNull(warnInterval, "warnInterval");
        if (warnInterval.isNegative() || warnInterval.isZero()) {
            throw new IllegalArgumentException("the interval between refusal warnings is " + warnInterval
                    + ", expected a positive duration");
        }
    }

    /** The bundle endpoint's limits ({@link #BUNDLE_ENDPOINT}). */
    public ConnectionLimits(int perClient, int total, Duration warnInterval) {
        this(BUNDLE_ENDPOINT, perClient, total, warnInterval);
    }

    /** The full name of the setting that bounds connections of one client, e.g. {@code isthmus.x.max-connections-per-client}. */
    public String perClientSetting() {
        return perClientSetting(settings);
    }

    /** The full name of the setting that bounds connections in all, e.g. {@code isthmus.x.max-connections}. */
    public String totalSetting() {
        return totalSetting(settings);
    }

    private static String perClientSetting(String prefix) {
        return prefix + "." + ConnectionAdmission.Reason.PER_CLIENT.setting();
    }

    private static String totalSetting(String prefix) {
        return prefix + "." + ConnectionAdmission.Reason.TOTAL.setting();
    }
}
