package io.isthmus.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.text.Printable;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.x509.Pem;

/**
 * The admin commands print what the gateway answers, and the gateway relays what peers and VMs chose: a member's
 * error text (from querying that member), a registration entry's selectors. Whatever a gateway relays, the CLI must
 * not write a control character to the operator's terminal: a CR and {@code ESC[2K} would overwrite the line that
 * says a member is behind with one saying it is current.
 */
class TerminalOutputTest {
    static final String FORGED = "\r\u001b[2Kgamma            gamma.test                       7\u001b]8;;https://evil/\u0007"
            + "\u009b8m\u202e";

    @TempDir
    Path dir;

    private HttpsServer gateway;
    private Path root;
    private Path token;

    @BeforeEach
    void gatewayOfA() throws Exception {
        TestCa pki = TestCa.create();
        var svid = TestCa.svid(pki.intermediate("a.test"), "spiffe://a.test" + TokenCommand.GATEWAY_PATH);
        root = Files.writeString(dir.resolve("root.pem"), Pem.write(pki.rootCertificate()));
        token = Files.writeString(dir.resolve("token"), "admin-token-0123456789\n");
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(new KeyManager[] {new SvidKeyManager(() -> svid)}, null, null);
        gateway = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        gateway.setHttpsConfigurator(new HttpsConfigurator(tls));
        Map<String, String> answers = Map.of(
                FederationCommand.BASE + "/status", "{\"self\":\"a\",\"version\":7,\"members\":[{\"name\":\"gamma\","
                        + "\"trustDomain\":\"gamma.test\",\"error\":" + json("unreachable: " + FORGED) + "}]}",
                "/v1/admin/registration-entries", "[{\"agent\":\"spiffe://a.test/ns/shop/sa/vm\",\"entries\":[{"
                        + "\"spiffeId\":\"spiffe://a.test/ns/shop/sa/vm/web\",\"selectors\":[" + json("uid:1000" + FORGED)
                        + "]}]}]");
        answers.forEach((path, body) -> gateway.createContext(path, exchange -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }));
        gateway.start();
    }

    @AfterEach
    void stop() {
        gateway.stop(0);
    }

    /** JSON string with every non-ASCII and control character as a \\u escape, as a gateway's JSON may carry it. */
    private static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.chars().forEach(c -> b.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", c) : Character.toString(c)));
        return b.append('"').toString();
    }

    private CliRun admin(String... command) {
        String[] args = new String[command.length + 8];
        System.arraycopy(command, 0, args, 0, command.length);
        System.arraycopy(new String[] {"--gateway", "https://127.0.0.1:" + gateway.getAddress().getPort(),
                "--admin-token-file", token.toString(), "--root-ca", root.toString(), "--trust-domain", "a.test"}, 0,
                args, command.length, 8);
        return CliRun.of(args);
    }

    @Test
    void federationStatusWritesNoControlCharacterAMemberErrorCarries() {
        CliRun run = admin("federation", "status");
        assertThat(run.exit()).as(run.err()).isEqualTo(3);
        assertThat(Printable.isSafe(run.out().replace("\n", ""))).as("what the terminal receives:%n%s", run.out())
                .isTrue();
        assertThat(run.out()).contains("gamma            gamma.test                       ? (unreachable: \\x0D\\x1B[2K");
    }

    @Test
    void entryListWritesNoControlCharacterASelectorCarries() {
        CliRun run = admin("entry", "list");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(Printable.isSafe(run.out().replace("\n", ""))).as("what the terminal receives:%n%s", run.out())
                .isTrue();
        assertThat(run.out()).contains("spiffe://a.test/ns/shop/sa/vm/web");
    }
}
