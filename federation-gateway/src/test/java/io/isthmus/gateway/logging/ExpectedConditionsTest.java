package io.isthmus.gateway.logging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.Level;
import java.util.logging.LogRecord;

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
}
