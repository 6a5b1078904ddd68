package io.isthmus.agent.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.agent.AgentCli;
import io.isthmus.agent.state.StateDir;
import io.isthmus.agent.testing.SilentGateway;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Pem;

/**
 * {@code isthmus-agent join --gateway https://gw-a:15012 --token ... --root-ca root.pem --trust-domain a.test}: the VM
 * means to join cluster a. A compromised peer cluster b (its gateway's SVID and key,
 * spiffe://b.test/ns/isthmus-system/sa/isthmus-gateway, genuine under the federation root) sits on the path to gw-a
 * (DNS, ARP, BGP). Before, without {@code --trust-domain} (as the README showed the command), the agent accepted a
 * gateway of any trust domain: it completed TLS with b, handed it a's join token (which b could redeem at gw-a for
 * a's VM identity) and joined b instead. Now the trust domain is required, and b's gateway receives nothing.
 */
class EnrolmentServerOfAnotherTrustDomainTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final String TOKEN_FOR_A = "ijt1.AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    private static final SpiffeId A_VM = SpiffeId.parse("spiffe://a.test/ns/shop/sa/billing-vm");
    private static final SpiffeId B_VM = SpiffeId.parse("spiffe://b.test/ns/shop/sa/billing-vm");

    @TempDir
    Path dir;

    private TestCa federation;
    private CaCredential aIntermediate;
    private CaCredential bIntermediate;
    private Path rootFile;

    @BeforeEach
    void federation() throws Exception {
        federation = TestCa.create();
        aIntermediate = federation.intermediate("a.test");
        bIntermediate = federation.intermediate("b.test");
        rootFile = dir.resolve("root.pem");
        Files.writeString(rootFile, Pem.write(federation.rootCertificate()));
    }

    private FakeGateway gatewayOfA() throws Exception {
        return FakeGateway.start(TestCa.svid(aIntermediate, "spiffe://a.test" + GatewayClient.GATEWAY_PATH),
                aIntermediate, A_VM);
    }

    /** b's genuine gateway SVID, answering where the agent expects a's gateway. */
    private FakeGateway gatewayOfBPosingAsA() throws Exception {
        return FakeGateway.start(TestCa.svid(bIntermediate, "spiffe://b.test" + GatewayClient.GATEWAY_PATH),
                bIntermediate, B_VM);
    }

    @Test
    void aFederatedPeersGatewayReceivesNoJoinToken() throws Exception {
        try (FakeGateway b = gatewayOfBPosingAsA()) {
            assertThatThrownBy(() -> new GatewayClient(b.uri(), federation::roots, A, Clock.systemUTC())
                    .enrol(TOKEN_FOR_A)).isInstanceOf(GatewayException.class);

            assertThat(b.received()).as("what b.test's gateway received from an agent enrolling in a.test").isEmpty();
        }
    }

    @Test
    void theGatewayOfTheTokensTrustDomainEnrolsTheVm() throws Exception {
        try (FakeGateway a = gatewayOfA()) {
            GatewayClient.Issued issued = new GatewayClient(a.uri(), federation::roots, A, Clock.systemUTC())
                    .enrol(TOKEN_FOR_A);

            assertThat(issued.svid().id()).isEqualTo(A_VM);
            assertThat(a.tokens()).containsExactly(TOKEN_FOR_A);
        }
    }

    @Test
    void noClientEnrolsWithoutTheExpectedTrustDomain() {
        assertThatThrownBy(() -> new GatewayClient(URI.create("https://127.0.0.1:1"), federation::roots, null,
                Clock.systemUTC())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trust domain is required").hasMessageContaining("join token");
    }

    @Test
    void joinWithoutTrustDomainFailsBeforeAnyNetworkIo() throws Exception {
        try (FakeGateway b = gatewayOfBPosingAsA(); SilentGateway silent = SilentGateway.start()) {
            for (URI gateway : new URI[] {b.uri(), silent.uri()}) {
                Cli cli = join(gateway, null);

                assertThat(cli.exit).as(cli.err).isEqualTo(2);
                assertThat(cli.err).contains("isthmus-agent: --trust-domain is required: the agent sends its join token "
                        + "only to a gateway of that trust domain (the one the token was made for), e.g. --trust-domain "
                        + "alpha.acme.internal");
            }
            assertThat(b.received()).isEmpty();
            assertThat(silent.awaitCall(Duration.ofMillis(200))).as("a connection to --gateway").isFalse();
            assertThat(new StateDir(dir.resolve("state")).exists()).isFalse();
        }
    }

    @Test
    void joinWithTrustDomainRefusesAGatewayOfAnotherTrustDomain() throws Exception {
        try (FakeGateway b = gatewayOfBPosingAsA()) {
            Cli cli = join(b.uri(), "a.test");

            assertThat(cli.exit).as(cli.err).isEqualTo(1);
            assertThat(cli.err).contains("isthmus-agent: enrolment failed");
            assertThat(b.received()).isEmpty();
            assertThat(new StateDir(dir.resolve("state")).exists()).isFalse();
        }
    }

    @Test
    void joinWithTrustDomainEnrolsAtItsGateway() throws Exception {
        try (FakeGateway a = gatewayOfA()) {
            Cli cli = join(a.uri(), "a.test");

            assertThat(cli.exit).as(cli.err).isZero();
            assertThat(a.tokens()).containsExactly(TOKEN_FOR_A);
            var state = new StateDir(dir.resolve("state")).load();
            assertThat(state.svid().id()).isEqualTo(A_VM);
            assertThat(state.trustDomain()).isEqualTo(A);
        }
    }

    @Test
    void joinRefusesATrustDomainThatIsNotOne() throws Exception {
        try (SilentGateway silent = SilentGateway.start()) {
            Cli cli = join(silent.uri(), "spiffe://a.test/ns/shop");

            assertThat(cli.exit).as(cli.err).isEqualTo(2);
            assertThat(cli.err).contains("--trust-domain 'spiffe://a.test/ns/shop' is not a trust domain name");
            assertThat(silent.awaitCall(Duration.ofMillis(200))).isFalse();
        }
    }

    private record Cli(int exit, String err) {
    }

    private Cli join(URI gateway, String trustDomain) {
        StringWriter err = new StringWriter();
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("join", "--gateway", gateway.toString(),
                "--token", TOKEN_FOR_A, "--root-ca", rootFile.toString(), "--state-dir", dir.resolve("state").toString(),
                "--exit-after-join"));
        if (trustDomain != null) {
            args.addAll(java.util.List.of("--trust-domain", trustDomain));
        }
        int exit = AgentCli.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                args.toArray(String[]::new));
        return new Cli(exit, err.toString());
    }
}
