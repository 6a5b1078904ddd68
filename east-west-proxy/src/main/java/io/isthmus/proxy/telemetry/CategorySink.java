package io.isthmus.proxy.telemetry;

import java.util.List;

import org.jboss.logging.Logger;

import io.isthmus.proxy.authz.audit.AuditSink;

/**
 * Writes each access-log line as one INFO message of the category {@value #CATEGORY} when no file is configured, so
 * operators route it with their logging configuration ({@code quarkus.log.category."isthmus.access"}).
 */
public final class CategorySink implements AuditSink {
    public static final String CATEGORY = "isthmus.access";
    private static final Logger ACCESS = Logger.getLogger(CATEGORY);

    @Override
    public void write(List<String> lines) {
        for (String line : lines) {
            ACCESS.info(line);
        }
    }
}
