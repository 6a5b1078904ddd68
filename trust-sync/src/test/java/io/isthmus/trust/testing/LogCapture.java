package io.isthmus.trust.testing;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

import org.assertj.core.api.Assertions;
import org.awaitility.Awaitility;

/**
 * Every record of one logger (and those below it) while open, DEBUG included (the logger's level is lowered to ALL,
 * and put back on close), so that a test can wait for what a background task logged and then check its level. Through
 * java.util.logging, which JBoss Logging (and Netty, when it finds no other backend) write to in these tests. For
 * tests of "a clean stop logs nothing worse than INFO".
 */
public final class LogCapture extends Handler implements AutoCloseable {
    private final Logger logger;
    private final Level previous;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    private LogCapture(Logger logger) {
        this.logger = logger;
        this.previous = logger.getLevel();
        logger.setLevel(Level.ALL);
        logger.addHandler(this);
    }

    public static LogCapture of(Class<?> type) {
        return of(type.getName());
    }

    /** A category and every category below it, e.g. {@code io.netty}. */
    public static LogCapture of(String category) {
        return new LogCapture(Logger.getLogger(category));
    }

    /** Forgets what was recorded so far. */
    public void clear() {
        records.clear();
    }

    public boolean isEmpty() {
        return records.isEmpty();
    }

    /** The records at {@code level} or above, each as "LEVEL message" (and the exception, if any). */
    public List<String> atLeast(Level level) {
        return records.stream().filter(r -> r.getLevel().intValue() >= level.intValue()).map(LogCapture::describe)
                .toList();
    }

    /** Every record, each as "LEVEL message" (and the exception, if any). */
    public List<String> all() {
        return records.stream().map(LogCapture::describe).toList();
    }

    /**
     * For a stop that cut a call short: waits (up to 10 s) until something was logged, then checks that nothing
     * reached WARNING and that a line says {@code expected}.
     */
    public void assertStoppedQuietly(String expected) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !isEmpty());
        Assertions.assertThat(atLeast(Level.WARNING)).as(all().toString()).isEmpty();
        Assertions.assertThat(all()).anySatisfy(r -> Assertions.assertThat(r).contains(expected));
    }

    private static String describe(LogRecord r) {
        return r.getLevel() + " " + new SimpleFormatter().formatMessage(r)
                + (r.getThrown() == null ? "" : " [" + r.getThrown() + "]");
    }

    @Override
    public void publish(LogRecord r) {
        records.add(r);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setLevel(previous);
    }
}
