package io.isthmus.trust.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The WARNING-and-above records logged under a category (and below it) while open, through java.util.logging, which
 * backs JBoss Logging (and Netty, when it finds no other backend) in these tests. For tests of "a clean stop logs
 * nothing worse than INFO".
 */
public final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                records.add(r);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    private LogCapture(String category) {
        this.logger = Logger.getLogger(category);
        logger.addHandler(handler);
    }

    /** Starts capturing {@code category}'s warnings and errors. */
    public static LogCapture warnings(String category) {
        return new LogCapture(category);
    }

    /** Each captured record's level and message, as logged so far. */
    public List<String> lines() {
        return records.stream().map(r -> r.getLevel() + " " + r.getMessage()).toList();
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
    }
}
