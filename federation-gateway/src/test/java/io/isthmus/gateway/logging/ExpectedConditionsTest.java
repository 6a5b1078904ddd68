package io.isthmus.gateway.logging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.Level;
import java.util.logging.LogRecord;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.infinispan.commons.CacheException;
import org.infinispan.commons.TimeoutException;
import org.infinispan.partitionhandling.AvailabilityException;
import org.infinispan.remoting.transport.jgroups.SuspectException;
import org.jboss.logmanager.ExtLogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExpectedConditionsTest {

    private static LogRecord record(String logger, Level level, String message) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName(logger);
        return r;
    }

    @ParameterizedTest(name = "{0}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            org.jgroups.protocols.relay.RELAY2 | SEVERE | JGRP000290: east-127.0.0.1-9091(v=16.0.9): no route for message from east-127.0.0.1-9091:east to SiteMaster(west): dropping message | WARN | registry: no cross-site route to west yet
            org.jgroups.protocols.relay.RELAY2 | SEVERE | JGRP000290: no route to SiteMaster(cluster-b.example) | WARN | registry: no cross-site route to cluster-b.example yet
            org.jgroups.protocols.relay.RELAY2 | SEVERE | JGRP000290: something without a site | WARN | registry: no cross-site route to a peer site yet
            org.jgroups.protocols.relay.RELAY2 | SEVERE | JGRP000034: failure sending message | SEVERE | JGRP000034: failure sending message
            org.jgroups.protocols.TCP | SEVERE | JGRP000290: SiteMaster(west) | SEVERE | JGRP000290: SiteMaster(west)
            io.isthmus.registry.RegistryNode | SEVERE | JGRP000290 in our own words | SEVERE | JGRP000290 in our own words
            """)
    void onlyRelay2sNoRouteBecomesAWarningNamingThePeer(String logger, String level, String message, String expectedLevel,
            String expectedStart) {
        LogRecord r = record(logger, Level.parse(level), message);
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel().getName()).isEqualTo(expectedLevel);
        assertThat(r.getMessage()).startsWith(expectedStart);
    }

    /** A Netty ChannelInitializer WARN as Vert.x 4.5.26 produced it in a CI run, with the thrown exception. */
    private static LogRecord initializerWarning(Throwable thrown) {
        LogRecord r = record(ExpectedConditions.CHANNEL_INITIALIZER, Level.WARNING,
                "Failed to initialize a channel. Closing: [id: 0xe1c0cc2f, L:/127.0.0.1:21083 - R:/127.0.0.1:58560]");
        r.setThrown(thrown);
        return r;
    }

    private static Throwable thrownAt(Throwable t, String className) {
        t.setStackTrace(new StackTraceElement[] {
                new StackTraceElement(className, "lambda$listen$1", "TCPServerBase.java", 231),
                new StackTraceElement("io.netty.channel.ChannelInitializer", "initChannel", "ChannelInitializer.java", 129)});
        return t;
    }

    @Test
    void vertxBindRaceBecomesOneInfoLineNamingThePortWithoutAStackTrace() {
        LogRecord r = initializerWarning(thrownAt(new NullPointerException(
                "Cannot invoke \"io.vertx.core.Future.result()\" because \"this.sslChannelProvider\" is null"),
                "io.vertx.core.net.impl.TCPServerBase"));
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel().getName()).isEqualTo("INFO");
        assertThat(r.getThrown()).isNull();
        assertThat(r.getMessage()).isEqualTo(ExpectedConditions.bindRace("/127.0.0.1:21083"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            another NPE in Vert.x       | java.lang.NullPointerException | Cannot invoke "String.length()" because "s" is null | io.vertx.core.net.impl.TCPServerBase
            the NPE from elsewhere       | java.lang.NullPointerException | because "this.sslChannelProvider" is null       | io.example.Other
            not an NPE                   | java.lang.IllegalStateException | sslChannelProvider                              | io.vertx.core.net.impl.TCPServerBase
            an NPE without a message     | java.lang.NullPointerException |                                                  | io.vertx.core.net.impl.TCPServerBase
            """)
    void anyOtherChannelInitializerFailureKeepsItsWarningAndStackTrace(String name, String type, String message,
            String thrower) throws Exception {
        Throwable thrown = thrownAt((Throwable) Class.forName(type).getConstructor(String.class).newInstance(message),
                thrower);
        LogRecord r = initializerWarning(thrown);
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel()).isEqualTo(Level.WARNING);
        assertThat(r.getThrown()).isSameAs(thrown);
    }

    /** Lines as Netty 4.1.132 wrote them at a gateway's egress during a Rapid Reset (Http2FloodTest). */
    @ParameterizedTest(name = "{0}: {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder | [id: 0x2f91786f, L:/127.0.0.1:34018 - R:127.0.0.1/127.0.0.1:40471] ignoring HEADERS frame for stream RST_STREAM sent. | false
            io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder | [id: 0x2f91786f, L:/127.0.0.1:34018 - R:127.0.0.1/127.0.0.1:40471] ignoring DATA frame for stream RST_STREAM sent. | false
            io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder | [id: 0x2f91786f] ignoring DATA frame for stream stream closed | false
            io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder | some other line of the decoder | true
            io.netty.handler.codec.http2.Http2FrameCodec | [id: 0x1] ignoring DATA frame for stream RST_STREAM sent. | true
            io.isthmus.proxy.exchange.Exchange | ignoring DATA frame for stream 3 | true
            """)
    void onlyNettysLineForEachFrameOfAResetStreamIsDropped(String logger, String message, boolean kept) {
        assertThat(new ExpectedConditions().isLoggable(record(logger, Level.INFO, message))).isEqualTo(kept);
    }

    @Test
    void theControlFrameLimitKeepsItsLineWithoutTheStackTrace() {
        LogRecord r = record(ExpectedConditions.H2_CONTROL_FRAME_LIMIT, Level.INFO, "[id: 0xe2802ed7, L:/127.0.0.1:37317"
                + " - R:/127.0.0.1:36144] Maximum number 10000 of outstanding control frames reached, closing channel.");
        r.setThrown(new IllegalStateException("Maximum number 10000 of outstanding control frames reached"));
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel()).isEqualTo(Level.INFO);
        assertThat(r.getThrown()).isNull();
        assertThat(r.getMessage()).contains("R:/127.0.0.1:36144");
    }

    /** ISPN000136 as Infinispan 16.0.9 logs it: a printf format, its parameters, the failure as the thrown. */
    private static ExtLogRecord commandFailed(String cache, Throwable thrown) {
        ExtLogRecord r = new ExtLogRecord(org.jboss.logmanager.Level.ERROR,
                "ISPN000136: Error executing command %s on %s, writing keys %s", ExtLogRecord.FormatStyle.PRINTF,
                "org.infinispan.util.logging.Log_$logger");
        r.setLoggerName(ExpectedConditions.INFINISPAN_COMMANDS);
        r.setParameters(new Object[] {"ReplaceCommand", "Cache '" + cache + "'", "[alpha/_isthmus/heartbeat]"});
        r.setThrown(thrown);
        return r;
    }

    private static final String TIMED_OUT = "ISPN000476: Timed out waiting for responses for request 23 from "
            + "alpha-172.16.1.10-7800 after 15 seconds";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a timeout                            | timeout   | alpha-172.16.1.10-7800
            a suspected replica                  | suspect   | alpha-172.16.1.12-7800
            a timeout wrapped in CacheException  | wrapped   | alpha-172.16.1.10-7800
            """)
    void aWriteThatAReplicaDidNotAnswerBecomesAWarnNamingCacheAndReplicaWithoutTheStackTrace(String name, String kind,
            String replica) {
        Throwable thrown = switch (kind) {
            case "timeout" -> new TimeoutException(TIMED_OUT);
            case "suspect" -> new SuspectException("ISPN000400: Node alpha-172.16.1.12-7800 was suspected");
            default -> new CacheException("remote failure", new TimeoutException(TIMED_OUT));
        };
        ExtLogRecord r = commandFailed("isthmus-registry", thrown);
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel().getName()).isEqualTo("WARN");
        assertThat(r.getThrown()).isNull();
        assertThat(r.getFormattedMessage()).isEqualTo(ExpectedConditions.unreachedReplica("isthmus-registry", replica, 0))
                .contains("isthmus-registry").contains("replica " + replica + " did not answer");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a key not available in this partition | availability
            another failure                       | other
            a timeout that names no replica        | bare-timeout
            no cause at all                       | none
            """)
    void anyOtherFailedCommandKeepsItsErrorAndStackTrace(String name, String kind) {
        Throwable thrown = switch (kind) {
            case "availability" -> new AvailabilityException("ISPN000306: Key 'k' is not available. Not all owners "
                    + "are in this partition");
            case "other" -> new IllegalStateException(TIMED_OUT);
            case "bare-timeout" -> new TimeoutException("ISPN000299: Unable to acquire lock after 10 seconds");
            default -> null;
        };
        ExtLogRecord r = commandFailed("isthmus-registry", thrown);
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel().getName()).isEqualTo("ERROR");
        assertThat(r.getThrown()).isSameAs(thrown);
        assertThat(r.getFormattedMessage()).startsWith("ISPN000136: Error executing command ReplaceCommand");
    }

    @Test
    void theSameLineFromAnotherLoggerIsLeftAlone() {
        ExtLogRecord r = commandFailed("isthmus-registry", new TimeoutException(TIMED_OUT));
        r.setLoggerName("org.infinispan.interceptors.impl.CallInterceptor");
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel().getName()).isEqualTo("ERROR");
        assertThat(r.getThrown()).isNotNull();
    }

    @Test
    void oneWarnPerCacheAndReplicaPerMinuteSayingHowManyWereLeftOut() {
        AtomicLong now = new AtomicLong(1_000);
        ExpectedConditions filter = new ExpectedConditions(now::get);
        assertThat(filter.isLoggable(commandFailed("isthmus-registry", new TimeoutException(TIMED_OUT)))).isTrue();
        now.addAndGet(TimeUnit.SECONDS.toNanos(15));
        assertThat(filter.isLoggable(commandFailed("isthmus-registry", new TimeoutException(TIMED_OUT)))).isFalse();
        now.addAndGet(TimeUnit.SECONDS.toNanos(15));
        assertThat(filter.isLoggable(commandFailed("isthmus-registry", new TimeoutException(TIMED_OUT)))).isFalse();
        assertThat(filter.isLoggable(commandFailed("isthmus-jwt-replica-keys", new TimeoutException(TIMED_OUT))))
                .as("another cache").isTrue();
        assertThat(filter.isLoggable(commandFailed("isthmus-registry", new SuspectException(
                "ISPN000400: Node alpha-172.16.1.12-7800 was suspected")))).as("another replica").isTrue();
        now.addAndGet(TimeUnit.SECONDS.toNanos(ExpectedConditions.UNREACHED_REPLICA_EVERY_SECONDS - 30));
        ExtLogRecord again = commandFailed("isthmus-registry", new TimeoutException(TIMED_OUT));
        assertThat(filter.isLoggable(again)).as("a minute after the first").isTrue();
        assertThat(again.getFormattedMessage()).endsWith("(2 more such writes in the last "
                + ExpectedConditions.UNREACHED_REPLICA_EVERY_SECONDS + " s not logged)");
    }

    /** As Infinispan 16.0.9's event logger writes them: the message formatted, the cache as the context. */
    @ParameterizedTest(name = "{0} {1} -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            org.infinispan.CLUSTER   | ERROR | [Context=isthmus-join-tokens] ISPN000318: Lost at least half of the stable members, assuming a network split and entering degraded mode. Current members are [a-10], lost members are [a-11], stable members are [a-11, a-10] | WARN
            org.infinispan.CLUSTER   | ERROR | [Context=isthmus-registry] ISPN000317: Lost data because of abrupt leavers [a-11], assuming a network split and entering degraded mode | ERROR
            org.infinispan.LIFECYCLE | ERROR | [Context=isthmus-join-tokens] ISPN000318: Lost at least half of the stable members | ERROR
            """)
    void aCacheEnteringDegradedModeOnTheMinoritySideIsAWarning(String logger, String level, String message,
            String expected) {
        ExtLogRecord r = new ExtLogRecord(org.jboss.logmanager.Level.parse(level), message,
                ExtLogRecord.FormatStyle.NO_FORMAT, "org.infinispan.util.logging.events.impl.BasicEventLogger");
        r.setLoggerName(logger);
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        assertThat(r.getLevel().getName()).isEqualTo(expected);
        assertThat(r.getFormattedMessage()).isEqualTo(message);
    }

    /** As JGroups 5.5.1 logs them through the registry's transports (seen on a normal start of bin/isthmus-local). */
    @ParameterizedTest(name = "{0}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            io.isthmus.registry.xsite.BridgeTcp | JGRP000034: _west-127.0.0.1-21191:west: failure sending message to 127.0.0.1:21290: javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake | WARNING
            io.isthmus.registry.xsite.TlsTcp    | JGRP000034: a-10: failure sending message to 10.0.0.11:7800: javax.net.ssl.SSLHandshakeException: PKIX path validation failed                 | WARNING
            io.isthmus.registry.xsite.BridgeTcp | JGRP000034: _west-127.0.0.1-21191:west: failure sending message to 127.0.0.1:21290: java.net.SocketException: Broken pipe                       | SEVERE
            org.jgroups.protocols.TCP           | JGRP000034: a: failure sending message to 127.0.0.1:21290: javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake          | SEVERE
            """)
    void aRegistryHandshakeThePeerClosedIsAWarningNamingItsAddress(String logger, String message, String expected) {
        LogRecord r = record(logger, Level.SEVERE, message);
        assertThat(new ExpectedConditions().isLoggable(r)).isTrue();
        if (expected.equals("WARNING")) {
            assertThat(r.getLevel()).isEqualTo(org.jboss.logmanager.Level.WARN);
            String address = message.replaceAll(".*failure sending message to (\\S+): .*", "$1");
            assertThat(r.getMessage()).isEqualTo(ExpectedConditions.handshakeFailed(address, message))
                    .contains("with " + address + " failed").endsWith(message);
        } else {
            assertThat(r.getLevel()).isEqualTo(Level.SEVERE);
            assertThat(r.getMessage()).isEqualTo(message);
        }
    }
}
