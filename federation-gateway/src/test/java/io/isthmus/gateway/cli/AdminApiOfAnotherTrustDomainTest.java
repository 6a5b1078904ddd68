package io.isthmus.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.x509.Pem;

/**
 * {@code isthmus token create --gateway https://gw-a:15012 --admin-token-file ... --root-ca root.pem}: the operator
 * means cluster a's gateway. A peer cluster b's gateway (its SVID spiffe://b.test/ns/isthmus-system/sa/isthmus-gateway,
 * genuine under the same federation root) sits on the path to gw-a. Before, without {@code --trust-domain} or
 * {@code --gateway-id}, the CLI accepted a gateway SVID of any trust domain and sent b a's bootstrap admin token (with
 * which b could mint join tokens and rotate CAs at a). Now the trust domain is required, and b receives nothing.
 */
class AdminApiOfAnotherTrustDomainTest {
    private static final String ADMIN_TOKEN = "cluster-a-bootstrap-admin-token-0123456789";

    @TempDir
    Path dir;

    private TestCa federation;
    private CaCredential aIntermediate;
    private CaCredential bIntermediate;
    private Path root;
    private Path tokenFile;
    private Path rootKey;

    @BeforeEach
    void federation() throws Exception {
        federation = TestCa.create();
        aIntermediate = federation.intermediate("a.test");
        bIntermediate = federation.intermediate("b.test");
        root = dir.resolve("root.pem");
        Files.writeString(root, Pem.write(federation.rootCertificate()));
        tokenFile = dir.resolve("admin-token");
        Files.writeString(tokenFile, ADMIN_TOKEN + "\n");
        rootKey = dir.resolve("root.key");
        Files.writeString(rootKey, Pem.writePrivateKey(federation.root().key()));
    }

    // ---- the decision, a pure function ----

    static Stream<Arguments> decisions() {
        String gwA = "spiffe://a.test" + TokenCommand.GATEWAY_PATH;
        String gwB = "spiffe://b.test" + TokenCommand.GATEWAY_PATH;
        String otherA = "spiffe://a.test/ns/ops/sa/gw";
        return Stream.of(
                // trust domain, gateway id, refusal (null: pinned), pinned TD, accepted, refused IDs
                Arguments.of(null, null, "--trust-domain is required (or --gateway-id)", null, List.of(), List.of()),
                Arguments.of("", " ", "--trust-domain is required (or --gateway-id)", null, List.of(), List.of()),
                Arguments.of("a.test", null, null, "a.test", List.of(gwA), List.of(gwB, otherA,
                        "spiffe://a.test/ns/shop/sa/isthmus-gateway")),
                Arguments.of("A.TEST", null, "is not a trust domain name", null, List.of(), List.of()),
                Arguments.of("spiffe://a.test/x", null, "is not a trust domain name", null, List.of(), List.of()),
                Arguments.of(null, otherA, null, "a.test", List.of(otherA), List.of(gwA, gwB)),
                Arguments.of("a.test", otherA, null, "a.test", List.of(otherA), List.of(gwA, gwB)),
                Arguments.of("a.test", gwB, "is not of --trust-domain a.test", null, List.of(), List.of()),
                Arguments.of(null, "not-an-id", "is not a SPIFFE ID", null, List.of(), List.of()));
    }

    @ParameterizedTest
    @MethodSource("decisions")
    void whichGatewayGetsTheAdminToken(String td, String gatewayId, String refusal, String pinnedTd,
            List<String> accepted, List<String> refused) {
        TokenCommand.GatewayTrust trust = TokenCommand.gatewayTrust(td, gatewayId);
        if (refusal != null) {
            assertThat(trust).isInstanceOf(TokenCommand.GatewayTrust.Refused.class);
            assertThat(((TokenCommand.GatewayTrust.Refused) trust).message()).contains(refusal);
            return;
        }
        TokenCommand.GatewayTrust.Pinned pinned = (TokenCommand.GatewayTrust.Pinned) trust;
        assertThat(pinned.trustDomain().name()).isEqualTo(pinnedTd);
        accepted.forEach(id -> assertThat(pinned.policy().check(SpiffeId.parse(id))).as(id).isNull());
        refused.forEach(id -> assertThat(pinned.policy().check(SpiffeId.parse(id))).as(id).isNotNull());
    }

    // ---- the attack ----

    @Test
    void withTheTrustDomainAPeersGatewayReceivesNoRequest() throws Exception {
        try (RecordingGateway b = RecordingGateway.start(gatewaySvidOf(bIntermediate, "b.test"))) {
            for (String[] command : adminCommands(b.uri(), "--trust-domain", "a.test")) {
                CliRun run = CliRun.of(command);
                assertThat(run.exit()).as(String.join(" ", command) + ": " + run.err()).isNotIn(0, 2);
            }
            assertThat(b.authorizations()).as("Authorization headers b.test's gateway received").isEmpty();
            assertThat(b.requests()).as("requests b.test's gateway received").isZero();
        }
    }

    @Test
    void withoutTrustDomainTheCliRefusesBeforeAnyConnection() throws Exception {
        try (RecordingGateway b = RecordingGateway.start(gatewaySvidOf(bIntermediate, "b.test"));
                CountingSocket silent = CountingSocket.start()) {
            for (URI target : new URI[] {b.uri(), silent.uri()}) {
                for (String[] command : adminCommands(target)) {
                    CliRun run = CliRun.of(command);
                    String what = String.join(" ", command) + ": " + run.err();
                    assertThat(run.exit()).as(what).isEqualTo(2);
                    assertThat(run.err()).as(what).contains("is required").contains("the CLI sends the admin token only "
                            + "to a gateway of that trust domain, e.g. --");
                }
                CliRun check = CliRun.of("check", "--gateway", silent.uri().toString(), "--from", "x", "--to", "svc.ns",
                        "--caller", "spiffe://a.test/ns/x/sa/y", "--to-api", target.toString(), "--admin-token-file",
                        tokenFile.toString(), "--root-ca", root.toString());
                assertThat(check.exit()).as(check.err()).isEqualTo(2);
                assertThat(check.err()).contains("--to-trust-domain is required (or --to-gateway-id)");
            }
            CliRun token = CliRun.of("token", "list", "--gateway", b.uri().toString(), "--admin-token-file",
                    tokenFile.toString(), "--root-ca", root.toString());
            assertThat(token.err()).contains("isthmus: --trust-domain is required (or --gateway-id): the CLI sends the "
                    + "admin token only to a gateway of that trust domain, e.g. --trust-domain alpha.acme.internal");
            assertThat(b.requests()).isZero();
            assertThat(b.authorizations()).isEmpty();
            assertThat(silent.connections()).as("connections to --gateway").isZero();
        }
    }

    @Test
    void refusedBeforeTheTokenFileIsRead() {
        CliRun run = CliRun.of("token", "list", "--gateway", "https://127.0.0.1:1", "--admin-token-file",
                dir.resolve("missing").toString(), "--root-ca", root.toString());
        assertThat(run.exit()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains("--trust-domain is required").doesNotContain("missing");
    }

    @Test
    void theGatewayOfTheRightTrustDomainGetsTheToken() throws Exception {
        try (RecordingGateway a = RecordingGateway.start(gatewaySvidOf(aIntermediate, "a.test"))) {
            CliRun run = CliRun.of("token", "list", "--gateway", a.uri().toString(), "--admin-token-file",
                    tokenFile.toString(), "--root-ca", root.toString(), "--trust-domain", "a.test");
            assertThat(run.exit()).as(run.err()).isZero();
            CliRun byId = CliRun.of("token", "list", "--gateway", a.uri().toString(), "--admin-token-file",
                    tokenFile.toString(), "--root-ca", root.toString(), "--gateway-id",
                    "spiffe://a.test" + TokenCommand.GATEWAY_PATH);
            assertThat(byId.exit()).as(byId.err()).isZero();
            assertThat(a.authorizations()).containsExactly("Bearer " + ADMIN_TOKEN, "Bearer " + ADMIN_TOKEN);
        }
    }

    /** Every admin command, pointed at {@code gateway}, with {@code extra} connection options. */
    private List<String[]> adminCommands(URI gateway, String... extra) throws IOException {
        List<String> conn = new ArrayList<>(List.of("--gateway", gateway.toString(), "--admin-token-file",
                tokenFile.toString(), "--root-ca", root.toString()));
        conn.addAll(List.of(extra));
        Path entries = dir.resolve("entries.json");
        Files.writeString(entries, "{\"entries\": []}");
        Path doc = dir.resolve("doc.jws");
        Files.writeString(doc, "x.y.z");
        List<String[]> commands = new ArrayList<>();
        for (List<String> head : List.of(List.of("token", "create", "--namespace", "shop", "--service-account", "vm"),
                List.of("token", "list"), List.of("token", "revoke", "--id", "t1"), List.of("rotate", "status"),
                List.of("rotate", "abort"), List.of("entry", "list"), List.of("entry", "set", "--agent", "spiffe://a.test/ns/shop/sa/vm", "--file", entries.toString()),
                List.of("federation", "show"), List.of("federation", "status"),
                List.of("federation", "push", "--document", doc.toString()),
                List.of("authz", "explain", "--from", "spiffe://a.test/ns/x/sa/y", "--to", "svc.ns"))) {
            List<String> args = new ArrayList<>(head);
            args.addAll(conn);
            commands.add(args.toArray(String[]::new));
        }
        // federation add/remove --gateway: the gateway's trust domain is --gateway-trust-domain ('add' has --trust-domain).
        List<String> fed = new ArrayList<>(List.of("federation", "remove", "--name", "c", "--root-cert", root.toString(),
                "--root-key", rootKey.toString(), "--gateway", gateway.toString(), "--admin-token-file",
                tokenFile.toString()));
        if (extra.length > 0) {
            fed.addAll(List.of("--gateway-trust-domain", extra[1]));
        }
        commands.add(fed.toArray(String[]::new));
        return commands;
    }

    private static io.isthmus.trust.svid.X509Svid gatewaySvidOf(CaCredential ca, String td) {
        return TestCa.svid(ca, "spiffe://" + td + TokenCommand.GATEWAY_PATH);
    }

    /** An HTTPS server holding a gateway SVID, answering 200 {@code []} and recording every Authorization header. */
    private static final class RecordingGateway implements AutoCloseable {
        private final HttpsServer server;
        private final List<String> authorizations = new CopyOnWriteArrayList<>();
        private final AtomicInteger requests = new AtomicInteger();

        private RecordingGateway(io.isthmus.trust.svid.X509Svid svid) throws Exception {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new KeyManager[] {new SvidKeyManager(() -> svid)}, null, null);
            server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setHttpsConfigurator(new HttpsConfigurator(ctx));
            server.createContext("/", exchange -> {
                requests.incrementAndGet();
                String auth = exchange.getRequestHeaders().getFirst("Authorization");
                if (auth != null) {
                    authorizations.add(auth);
                }
                byte[] body = "[]".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.start();
        }

        static RecordingGateway start(io.isthmus.trust.svid.X509Svid svid) throws Exception {
            return new RecordingGateway(svid);
        }

        URI uri() {
            return URI.create("https://127.0.0.1:" + server.getAddress().getPort());
        }

        List<String> authorizations() {
            return List.copyOf(authorizations);
        }

        int requests() {
            return requests.get();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    /** A TCP port that counts the connections made to it (and closes them). */
    private static final class CountingSocket implements AutoCloseable {
        private final ServerSocket socket;
        private final AtomicInteger connections = new AtomicInteger();

        private CountingSocket() throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        connections.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        static CountingSocket start() throws IOException {
            return new CountingSocket();
        }

        URI uri() {
            return URI.create("https://127.0.0.1:" + socket.getLocalPort());
        }

        int connections() throws InterruptedException {
            Thread.sleep(200);
            return connections.get();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
