package io.isthmus.proxy.http.path;

import java.util.Arrays;
import java.util.Locale;

/**
 * How far the ingress normalizes request paths before policy sees them, named after Istio's
 * {@code meshConfig.pathNormalization}. Every mode but {@link #NONE} also refuses what backends disagree about
 * ({@code ;} parameters, fragments, characters that must be percent-encoded).
 */
public enum PathNormalization {
    /** Paths are forwarded and matched as received. Policy then sees what the backend may not serve: unsafe. */
    NONE,
    /**
     * RFC 3986 section 6: percent-encoded unreserved characters are decoded, the hex of other escapes upper-cased,
     * dot segments removed. Encoded slashes and backslashes ({@code %2F}, {@code %5C}, {@code \}) are refused.
     */
    BASE,
    /** {@link #BASE}, and repeated slashes are merged into one (what nginx and Go's ServeMux do). The default. */
    MERGE_SLASHES,
    /**
     * {@link #MERGE_SLASHES}, and {@code %2F}, {@code %5C} and {@code \} become {@code /} instead of being refused
     * (for backends that treat them as separators, as Windows servers and some Java frameworks do).
     */
    DECODE_AND_MERGE_SLASHES;

    /** The safe default: what most backends serve, and nothing they would read differently gets through. */
    public static final PathNormalization DEFAULT = MERGE_SLASHES;

    /** {@code none}, {@code base}, {@code merge-slashes}, {@code decode-and-merge-slashes}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Parses a {@link #configName()} (also accepts Istio's upper-case spelling); names the choices otherwise. */
    public static PathNormalization parse(String text) {
        for (PathNormalization p : values()) {
            if (p.configName().equals(text) || p.name().equals(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("path normalization '" + text + "' is not one of "
                + Arrays.stream(values()).map(PathNormalization::configName).toList());
    }
}
