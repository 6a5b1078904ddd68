package io.isthmus.proxy.exchange;

import java.time.Duration;
import java.util.Optional;

/**
 * The {@code grpc-timeout} request header ("gRPC over HTTP/2": {@code TimeoutValue TimeoutUnit}, at most eight ASCII
 * digits and one of {@code H M S m u n}). A gateway turns it into a deadline when the call arrives and sends on what
 * is left of it, so that a caller's deadline bounds the call across every hop. Pure; thread-safe.
 */
public final class GrpcTimeout {
    /** The largest value the header can carry. */
    private static final long MAX_VALUE = 99_999_999L;

    /** Why a {@code grpc-timeout} value is refused. */
    public static final class InvalidGrpcTimeout extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidGrpcTimeout(String value, String why) {
            super("grpc-timeout '" + value + "' " + why + ": expected 1 to 8 digits and a unit H, M, S, m, u or n "
                    + "(e.g. 250m)", null, false, false);
        }
    }

    private GrpcTimeout() {
    }

    /**
     * @param value the header value, or null when absent
     * @return the timeout, empty when the header is absent
     */
    public static Optional<Duration> parse(String value) throws InvalidGrpcTimeout {
        if (value == null) {
            return Optional.empty();
        }
        int n = value.length();
        if (n < 2 || n > 9) {
            throw new InvalidGrpcTimeout(value, n < 2 ? "is too short" : "has more than 8 digits");
        }
        long amount = 0;
        for (int i = 0; i < n - 1; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                throw new InvalidGrpcTimeout(value, "has a non-digit '" + c + "' in its value");
            }
            amount = amount * 10 + (c - '0');
        }
        return Optional.of(switch (value.charAt(n - 1)) {
            case 'H' -> Duration.ofHours(amount);
            case 'M' -> Duration.ofMinutes(amount);
            case 'S' -> Duration.ofSeconds(amount);
            case 'm' -> Duration.ofMillis(amount);
            case 'u' -> Duration.ofNanos(amount * 1_000);
            case 'n' -> Duration.ofNanos(amount);
            default -> throw new InvalidGrpcTimeout(value, "has an unknown unit '" + value.charAt(n - 1) + "'");
        });
    }

    /**
     * The header value for {@code remaining} (not negative), in the finest unit whose value fits eight digits,
     * rounded up so that the next hop never gets less time than is left.
     */
    public static String format(Duration remaining) {
        long nanos = Math.max(0, remaining.toNanos());
        long[] perUnit = {1, 1_000, 1_000_000, 1_000_000_000L, 60_000_000_000L, 3_600_000_000_000L};
        char[] units = {'n', 'u', 'm', 'S', 'M', 'H'};
        for (int i = 0; i < units.length; i++) {
            long value = nanos / perUnit[i] + (nanos % perUnit[i] == 0 ? 0 : 1);
            if (value <= MAX_VALUE) {
                return value + String.valueOf(units[i]);
            }
        }
        return MAX_VALUE + "H";
    }
}
