package io.isthmus.proxy.authz.audit;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Pattern;

/**
 * Constants of the decision log as an interface (see {@code docs/decision-log.md}): the format version, the
 * largest line a reader takes, and how rotated files are named. Fields may be added within a version (readers
 * ignore fields they do not know); removing or changing the meaning of one makes a new version.
 */
public final class DecisionLogFormat {
    /** The version every line carries in {@value #VERSION_FIELD}. */
    public static final int VERSION = 1;
    public static final String VERSION_FIELD = "version";
    /**
     * Lines longer than this are refused by readers without being held in memory. A real line is a few hundred
     * bytes plus the path, and the ingress limits request heads far below this.
     */
    public static final int MAX_LINE_CHARS = 1 << 20;

    /** {@code <file>.20261123T100000.123Z}: sorts by name in the order the files were rotated. */
    private static final DateTimeFormatter ROTATED =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final Pattern ROTATED_SUFFIX = Pattern.compile("\\.\\d{8}T\\d{6}\\.\\d{3}Z(-\\d+)?");

    private DecisionLogFormat() {
    }

    /** The name a file rotated at {@code at} gets: {@code <name>.<UTC time>}. */
    public static String rotatedName(String name, Instant at) {
        return name + "." + ROTATED.format(at);
    }

    /** Whether {@code candidate} is a rotated file of the log called {@code name}. */
    public static boolean isRotatedOf(String name, String candidate) {
        return candidate.length() > name.length() && candidate.startsWith(name)
                && ROTATED_SUFFIX.matcher(candidate.substring(name.length())).matches();
    }
}
