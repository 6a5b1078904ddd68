package io.isthmus.proxy.authz.audit;

import java.util.List;

import org.jboss.logging.Logger;

/**
 * Writes each JSON line as one INFO message of the dedicated category {@value #CATEGORY}, so that operators can
 * route it with their logging configuration (e.g. {@code quarkus.log.category."isthmus.authz.audit"}).
 */
public final class LoggerAuditSink implements AuditSink {
    public static final String CATEGORY = "isthmus.authz.audit";
    private static final Logger AUDIT = Logger.getLogger(CATEGORY);

    @Override
    public void write(List<String> lines) {
        for (String line : lines) {
            AUDIT.info(line);
        }
    }
}
