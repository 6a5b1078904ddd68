package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.endpoint.EndpointAnswer;
import io.isthmus.trust.membership.FederationMembership;
import io.isthmus.trust.membership.HostPort;
import io.isthmus.trust.membership.Member;
import io.isthmus.trust.membership.MemberProbe;
import io.isthmus.trust.membership.Membership;
import io.isthmus.trust.membership.MembershipGossip;
import io.isthmus.trust.membership.MembershipJws;
import io.isthmus.trust.membership.MembershipStore;
import io.isthmus.trust.membership.MembershipVerdict;
import io.isthmus.trust.membership.MembershipVerifier;
import io.isthmus.trust.membership.SignedMembership;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * A gateway that holds no membership document yet (new, or restarted with an empty data dir) is offered an old but
 * genuine, root-signed document: version 1, which still lists x, a cluster version 2 removed (say it was
 * compromised). x itself, which was told of its removal and kept version 1, pushes it to the fresh gateway f before f
 * learned version 2 (f's seed, a, was not up yet when f started, so f's first poll found nothing).
 *
 * <p>Three real trust runtimes with real bundle endpoints on loopback (a, x, f), f's and a's membership served at
 * {@code /v1/membership} next to them, real gossip over https_spiffe. Before the fix f took version 1 at once: it synced
 * x's bundle and verified x's SVIDs until its next poll (30 s by default, here one minute), or for as long as x kept
 * a away from f.
 */
class OldMembershipAtFreshGatewayTest {
    @TempDir
    Path dataRoot;

    private final TestCa pki = TestCa.create();
    private final TestGateways gateways = new TestGateways(pki);
    private final List<AutoCloseable> closing = new java.util.ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        gateways.close();
    }

    private static TrustDomain td(String name) {
        return TestGateways.td(name);
    }

    private static URI endpoint(int port) {
        return URI.create("https://127.0.0.1:" + port + "/");
    }

    private static Member member(String name, int port) {
        return new Member(name, td(name), endpoint(port), List.of(), HostPort.parse("127.0.0.1:" + (port + 1)),
                List.of(SpiffeId.ofServiceAccount(td(name), "isthmus-system", "isthmus-gateway")), "", "");
    }

    private String signed(long version, Member... members) {
        return MembershipJws.sign(new Membership(version, Instant.parse("2026-12-01T00:00:00Z"), List.of(members)),
                pki.root().key(), pki.rootCertificate());
    }

    private SignedMembership parsed(String compact) {
        return ((MembershipVerdict.Accepted) new MembershipVerifier().verify(compact, pki.roots(),
                OptionalLong.empty())).document();
    }

    private TrustRuntime start(String name, int port) throws IOException {
        return gateways.start(name, pki.intermediate(td(name).name()), dataRoot.resolve(name), port, List.of(),
                Clock.systemUTC());
    }

    /** The membership of gateway {@code name} on {@code runtime}, applied to its trust peers as the gateway does. */
    private FederationMembership membership(String name, TrustRuntime runtime, Optional<SignedMembership> held,
            Set<URI> seeds) {
        Duration timeout = Duration.ofSeconds(2);
        MemberProbe probe = new MemberProbe(runtime, runtime, Clock.systemUTC(), Duration.ofSeconds(30), timeout, null);
        MembershipGossip gossip = new MembershipGossip(runtime, runtime, Clock.systemUTC(), Duration.ofSeconds(30),
                timeout, null);
        FederationMembership m = new FederationMembership(name, runtime.trustDomain(), runtime,
                new MembershipStore(dataRoot.resolve(name).resolve("membership")), held, probe::probe, gossip,
                () -> seeds, Duration.ofMinutes(1), timeout);
        m.addListener(change -> {
            try {
                runtime.applyMembership(runtime.roots(), change.peers().stream().map(p -> new PeerConfig(p.name(),
                        p.trustDomain(), p.bundleEndpoint(), Optional.empty())).toList());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        runtime.serveOnBundleEndpoint(MembershipGossip.PATH, m);
        closing.add(m);
        return m;
    }

    @Test
    void aFreshGatewayTakesNotAReplayedOldDocumentButTheNewestAMemberServes() throws Exception {
        int aPort = FreePorts.next();
        int xPort = FreePorts.next();
        int fPort = FreePorts.next();
        String v1 = signed(1, member("a", aPort), member("x", xPort), member("f", fPort));
        String v2 = signed(2, member("a", aPort), member("f", fPort));

        // f starts first, holding no document, its seed a not up yet: its first poll finds nothing.
        TrustRuntime f = start("f", fPort);
        FederationMembership fm = membership("f", f, Optional.empty(), Set.of(endpoint(aPort)));
        fm.start();
        TrustRuntime x = start("x", xPort);
        // x was told of its removal (version 2 was pushed to it too), but serves the version that lists it.
        x.serveOnBundleEndpoint(MembershipGossip.PATH, request -> new EndpointAnswer(200, MembershipGossip.CONTENT_TYPE,
                Map.of(), v1));
        TrustRuntime a = start("a", aPort);
        FederationMembership am = membership("a", a, Optional.of(parsed(v2)), Set.of());
        assertThat(am.current()).map(SignedMembership::version).contains(2L);

        // x replays version 1 to f before f's next poll.
        MembershipGossip attacker = new MembershipGossip(x, x, Clock.systemUTC(), Duration.ofSeconds(30),
                Duration.ofSeconds(5), null);
        MembershipGossip.PushAnswer pushed = attacker.push(endpoint(fPort), v1).get(10, TimeUnit.SECONDS);
        assertThat(pushed.statusCode()).as("f's answer to the push: %s", pushed.body()).isEqualTo(202);

        X509Svid xWorkload = x.ca().issue(SpiffeId.parse("spiffe://x.acme.internal/ns/shop/sa/web"),
                Duration.ofMinutes(10));
        await("f takes a document").atMost(Duration.ofSeconds(15)).until(() -> fm.current().isPresent());
        await("x stays out at f").pollInterval(Duration.ofMillis(100)).during(Duration.ofSeconds(3))
                .atMost(Duration.ofSeconds(6)).untilAsserted(() -> {
                    assertThat(fm.current()).map(SignedMembership::version).as("the version f holds").contains(2L);
                    assertThat(f.sync().peerDomains()).as("f's peers").doesNotContain(td("x"));
                    assertThat(f.store().bundleFor(td("x"))).as("x's bundle in f's store").isEmpty();
                    assertThat(f.verifier().verify(xWorkload.chain())).as("x's workload SVID at f")
                            .isInstanceOf(SvidVerdict.Rejected.class);
                });
        await("f syncs a's bundle").atMost(Duration.ofSeconds(10))
                .until(() -> f.store().bundleFor(td("a")).isPresent());
    }
}
