package io.isthmus.gateway.logging;

import java.util.logging.Filter;
import java.util.logging.LogRecord;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.quarkus.logging.LoggingFilter;

/**
 * Rewrites what libraries log as an ERROR for a condition that is expected in a federation: JGroups' RELAY2 logs
 * {@code JGRP000290 ... no route ... to SiteMaster(<site>): dropping message} for every message it cannot yet route
 * to a site whose bridge is not connected, which is every peer that is not up yet on a normal start. That becomes one
 * WARN naming the peer and what to do; cross-site replication retries on its own once the bridge connects. Quarkus'
 * own log cleanup filters cannot do this: they never touch ERROR records. Everything else passes unchanged.
 */
@LoggingFilter(name = "isthmus-expected-conditions")
public final class ExpectedConditions implements Filter {
    static final String RELAY2 = "org.jgroups.protocols.relay.RELAY2";
    private static final Pattern NO_ROUTE = Pattern.compile("JGRP000290: .*SiteMaster\\(([^)]+)\\)");

    @Override
    public boolean isLoggable(LogRecord record) {
        String message = record.getMessage();
        if (RELAY2.equals(record.getLoggerName()) && message != null && message.startsWith("JGRP000290")) {
            Matcher m = NO_ROUTE.matcher(message);
            String site = m.find() ? m.group(1) : "a peer site";
            record.setLevel(org.jboss.logmanager.Level.WARN);
            record.setParameters(null);
            record.setMessage(rewrite(site));
        }
        return true;
    }

    /** The WARN for a site the registry cannot reach yet. */
    static String rewrite(String site) {
        return "registry: no cross-site route to " + site + " yet (its bridge is not connected); replication to it "
                + "resumes once it is. If this lasts, check that " + site + "'s gateway is up and its bridge address "
                + "reachable (isthmus check, bridge line)";
    }
}
