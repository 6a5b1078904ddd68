package io.isthmus.agent.entries;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.agent.attest.RegistrationEntries;
import io.isthmus.agent.attest.WorkloadAttestation;
import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.testing.SilentGateway;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.testing.TestCa;

/**
 * The agent's entries follow the gateway and the file without a restart: the union applies, a pushed entry outside
 * the VM's path is refused (logged once), an unreachable gateway leaves the last entries in force (said once), and
 * a changed file is reloaded. Stopping while a pull is in flight is not a failure.
 */
class EntrySyncTest {
    private static final SpiffeId VM = SpiffeId.parse("spiffe://east.example/ns/shop/sa/db-1");
    private static final URI GATEWAY = URI.create("https://gw.east.example:15012");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<String> log = new CopyOnWriteArrayList<>();
    private final java.util.logging.Handler capture = new java.util.logging.Handler() {
        @Override
        public void publish(java.util.logging.LogRecord r) {
            log.add(r.getLevel() + " " + new java.util.logging.SimpleFormatter().formatMessage(r));
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private EntrySync sync;

    @AfterEach
    void stop() {
        if (sync != null) {
            sync.close();
        }
        java.util.logging.Logger.getLogger(EntrySync.class.getName()).removeHandler(capture);
    }

    private static String entries(String... idAndSelector) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < idAndSelector.length; i += 2) {
            sb.append(i == 0 ? "" : ",").append("{\"spiffeId\": \"").append(idAndSelector[i])
                    .append("\", \"selectors\": [\"").append(idAndSelector[i + 1]).append("\"]}");
        }
        return sb.append("]").toString();
    }

    @Test
    void followsTheGatewayAndTheFileAndKeepsTheLastEntriesWhileTheGatewayIsAway() throws Exception {
        java.util.logging.Logger.getLogger(EntrySync.class.getName()).addHandler(capture);
        Path file = Files.writeString(dir.resolve("entries.json"), "{\"entries\": " + entries(VM + "/file", "unix:uid:1")
                + "}");
        List<RegistrationEntry> fromFile = RegistrationEntries.read(file, VM);
        WorkloadAttestation attestation = WorkloadAttestation.unix(fromFile);
        AtomicReference<Object> gateway = new AtomicReference<>(JSON.readTree(entries(VM + "/pushed", "unix:uid:2",
                "spiffe://east.example/ns/shop/sa/db-2/steal", "unix:uid:3")));
        AtomicReference<Set<SpiffeId>> ids = new AtomicReference<>(Set.of());
        sync = new EntrySync(VM, GATEWAY, () -> {
            Object answer = gateway.get();
            if (answer instanceof GatewayException e) {
                throw e;
            }
            return (JsonNode) answer;
        }, attestation, Optional.of(file), fromFile, ids::set, Duration.ofMillis(50));
        sync.start();

        // At once (the first pull is waited for): the union, without the entry of another VM's path.
        assertThat(attestation.workloadIds(VM)).extracting(Object::toString).containsExactly(VM + "/file", VM + "/pushed");
        assertThat(ids.get()).isEqualTo(attestation.workloadIds(VM));

        gateway.set(new GatewayException("unreachable", 0, "gateway " + GATEWAY + " unreachable: Connection refused",
                null));
        await().atMost(Duration.ofSeconds(10)).until(() -> log.stream().anyMatch(l -> l.contains("cannot fetch")));
        Thread.sleep(300); // several more failed pulls
        assertThat(attestation.workloadIds(VM)).as("the last entries stay").extracting(Object::toString)
                .containsExactly(VM + "/file", VM + "/pushed");

        gateway.set(JSON.readTree("[]"));
        await().atMost(Duration.ofSeconds(10)).until(() -> attestation.workloadIds(VM).size() == 1);
        Files.writeString(file, "{\"entries\": " + entries(VM + "/file2", "unix:uid:1") + "}");
        await().atMost(Duration.ofSeconds(10)).until(() -> attestation.workloadIds(VM)
                .equals(Set.of(SpiffeId.parse(VM + "/file2"))));
        assertThat(ids.get()).containsExactly(SpiffeId.parse(VM + "/file2"));

        assertThat(log.stream().filter(l -> l.contains("cannot fetch")).toList()).as(log.toString()).singleElement()
                .asString().startsWith("WARN ").contains(GATEWAY.toString()).contains("keeping the 1 it sent last")
                .contains("isthmus identities list");
        assertThat(log.stream().filter(l -> l.contains("fetched again")).count()).isEqualTo(1);
        assertThat(log.stream().filter(l -> l.contains("refused a registration entry")).toList()).singleElement()
                .asString().contains("db-2/steal").contains("not-under-vm");
    }

    /** Before, close() interrupted the pull at once, and "interrupted" was logged as an unreachable gateway (WARN). */
    @Test
    void aPullInFlightAtStopIsNotLoggedAsAFailure() throws Exception {
        TestCa ca = TestCa.create();
        X509Svid agent = TestCa.svid(ca.intermediate("east.example"), VM.toString());
        try (SilentGateway silent = SilentGateway.start(); LogCapture log = LogCapture.of(EntrySync.class)) {
            GatewayClient client = new GatewayClient(silent.uri(), ca.roots(), VM.trustDomain(), Clock.systemUTC());
            JsonNode none = JSON.readTree("[]");
            AtomicBoolean first = new AtomicBoolean(true);
            // The first pull (waited for by start) is answered; the next goes to a gateway that never answers.
            sync = new EntrySync(VM, silent.uri(), () -> first.getAndSet(false) ? none
                    : client.registrationEntries(agent, BundleSet.of(List.of())), WorkloadAttestation.unix(List.of()),
                    Optional.empty(), List.of(), ids -> { }, Duration.ofMinutes(10));
            sync.start();
            sync.pullSoon();
            assertThat(silent.awaitCall(Duration.ofSeconds(10))).as("the pull reached the gateway").isTrue();

            sync.close();

            // The call ends when the stop interrupts it (the gateway never answers).
            log.assertStoppedQuietly("stopped: the agent is stopping");
        }
    }
}
