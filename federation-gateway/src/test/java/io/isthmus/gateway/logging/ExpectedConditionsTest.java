package io.isthmus.gateway.logging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.Level;
import java.util.logging.LogRecord;

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
}
