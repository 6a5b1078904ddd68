package io.isthmus.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;

import io.isthmus.gateway.check.StatusFixtures;
import io.isthmus.gateway.status.StatusJson;
import io.isthmus.trust.text.Printable;

/**
 * {@code isthmus check}, the real CLI, reading a gateway's management port whose status carries strings a peer chose:
 * the ingress address of its registry entries (which the prober dials and names), the error of that probe, and its
 * bundle poll's last error. Written raw to the operator's terminal, their escapes erase the {@code ✗} line and print a
 * passing one in its place; each must arrive escaped, with the check still failing.
 */
class CheckOutputTest {
    /** Return to the line's start, erase it, move up, print a pass; an OSC 8 link; a C1 CSI; a bidi override. */
    static final String FORGED = "\r\u001b[2K\u001b[1A\u2713 peer-ingress beta  proved to be spiffe://beta/ by mutual TLS\n"
            + "all 12 checks passed\u001b]8;;https://evil.example/\u0007docs\u001b]8;;\u0007\u009b8m\u202e";

    private HttpServer management;

    @AfterEach
    void stop() {
        if (management != null) {
            management.stop(0);
        }
    }

    private String serve(String statusJson) throws Exception {
        management = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        Map<String, String> bodies = Map.of("/federation/api/status", statusJson, "/q/metrics", "");
        bodies.forEach((path, body) -> management.createContext(path, exchange -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length == 0 ? -1 : bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        }));
        management.start();
        return "http://127.0.0.1:" + management.getAddress().getPort();
    }

    @Test
    void aPeersStringsReachTheTerminalEscapedAndTheCheckStillFails() throws Exception {
        ObjectNode status = (ObjectNode) StatusJson.mapper().readTree(StatusJson.write(StatusFixtures.healthy()));
        ObjectNode peer = (ObjectNode) status.path("peers").get(0);
        ((ObjectNode) peer.path("ingress")).put("address", "10.0.0.2" + FORGED + ":15443").put("ok", false)
                .put("error", "handshake failed: " + FORGED).putNull("peerId");
        ((ObjectNode) peer.path("sync")).put("lastError", "bundle refused: " + FORGED);

        CliRun run = CliRun.of("check", "--gateway", serve(status.toString()));

        assertThat(run.exit()).as(run.out()).isEqualTo(1);
        assertThat(Printable.isSafe(run.out().replace("\n", ""))).as("what the terminal receives:%n%s", run.out())
                .isTrue();
        assertThat(run.out()).contains("\u2717 peer-ingress beta", Printable.escape(FORGED))
                .doesNotContain("all 12 checks passed\n");
        assertThat(run.err()).isEmpty();
    }

    @Test
    void theJsonReportStaysValidJsonAndCarriesThePeersStringExactly() throws Exception {
        ObjectNode status = (ObjectNode) StatusJson.mapper().readTree(StatusJson.write(StatusFixtures.healthy()));
        ObjectNode peer = (ObjectNode) status.path("peers").get(0);
        ((ObjectNode) peer.path("sync")).put("lastError", "bundle refused: " + FORGED + "\u007f");

        CliRun run = CliRun.of("check", "--gateway", serve(status.toString()), "-o", "json");

        assertThat(run.exit()).as(run.out()).isEqualTo(1);
        assertThat(Printable.isSafe(run.out().replace("\n", ""))).as("what the terminal receives:%n%s", run.out())
                .isTrue();
        var report = StatusJson.mapper().readTree(run.out());
        assertThat(report.path("checks").findValuesAsText("cause"))
                .anySatisfy(c -> assertThat(c).contains("bundle refused: " + FORGED + "\u007f"));
    }
}
