package io.isthmus.gateway.api.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.enrolment.BootstrapToken;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;

/**
 * {@link ReadAccess} as a table: real certificates (a federation of two trust domains, a foreign root, an expired
 * SVID, a trust domain whose signing CA was revoked) against a real verifier, and every shape of Authorization.
 */
class ReadAccessTest {
    private static final String TOKEN = "bootstrap-token-0123456789abcdef-0123456789";
    private static final BootstrapToken.Setting CONFIGURED = new BootstrapToken.Setting.Configured(TOKEN);
    private static final BootstrapToken.Setting ABSENT = new BootstrapToken.Setting.Absent("no bootstrap admin token is configured");

    private static final MutableClock CLOCK = MutableClock.now();
    private static final TestCa PKI = TestCa.create(CLOCK);
    private static final TestCa FOREIGN = TestCa.create(CLOCK);
    private static final CaCredential HOME = PKI.intermediate("home.example");
    private static final CaCredential PEER = PKI.intermediate("peer.example");
    private static final CaCredential REVOKED = PKI.intermediate("revoked.example");
    private static final CaCredential REVOKED_NEXT = PKI.intermediate("revoked.example");
    private static final AtomicReference<BundleSet> BUNDLES = new AtomicReference<>(BundleSet.of(List.of(
            bundle("home.example", HOME), bundle("peer.example", PEER), bundle("revoked.example", REVOKED_NEXT))));
    private static final X509SvidVerifier VERIFIER = new X509SvidVerifier(PKI.roots(), td -> BUNDLES.get().bundleFor(td),
            CLOCK, Duration.ofSeconds(30));

    private static final List<X509Certificate> HOME_WORKLOAD = TestCa.svid(HOME, "spiffe://home.example/ns/shop/sa/cart", CLOCK).chain();
    private static final List<X509Certificate> PEER_WORKLOAD = TestCa.svid(PEER, "spiffe://peer.example/ns/ops/sa/dash", CLOCK).chain();
    private static final List<X509Certificate> FOREIGN_ROOT = TestCa.svid(FOREIGN.intermediate("home.example"),
            "spiffe://home.example/ns/shop/sa/cart", CLOCK).chain();
    private static final List<X509Certificate> EXPIRED = TestCa.leaf().uri("spiffe://home.example/ns/shop/sa/cart")
            .validity(Instant.now().minus(Duration.ofHours(2)), Instant.now().minus(Duration.ofHours(1))).chainSignedBy(HOME);
    // Signed by the CA that revoked.example's current bundle no longer lists.
    private static final List<X509Certificate> REVOKED_TD = TestCa.svid(REVOKED, "spiffe://revoked.example/ns/a/sa/b", CLOCK).chain();
    private static final List<X509Certificate> UNFEDERATED_TD = TestCa.svid(PKI.intermediate("stranger.example"),
            "spiffe://stranger.example/ns/a/sa/b", CLOCK).chain();

    private static TrustBundle bundle(String td, CaCredential ca) {
        return new TrustBundle(new TrustDomain(td), List.of(ca.certificate()), List.of(), 1, Optional.empty());
    }

    private static Arguments row(String name, boolean tls, String authorization, List<X509Certificate> chain,
            BootstrapToken.Setting token, Object expected) {
        return Arguments.of(name, new ReadAccess.Request(tls, Optional.ofNullable(authorization), chain), token, expected);
    }

    static Stream<Arguments> table() {
        List<X509Certificate> none = List.of();
        return Stream.of(
                row("workload SVID of this trust domain", true, null, HOME_WORKLOAD, CONFIGURED, "spiffe://home.example/ns/shop/sa/cart"),
                row("workload SVID of a peer trust domain", true, null, PEER_WORKLOAD, ABSENT, "spiffe://peer.example/ns/ops/sa/dash"),
                row("bootstrap token", true, "Bearer " + TOKEN, none, CONFIGURED, "bootstrap-admin"),
                row("bootstrap token, scheme in lower case", true, "bearer " + TOKEN, none, CONFIGURED, "bootstrap-admin"),
                row("bootstrap token with a federated SVID too", true, "Bearer " + TOKEN, HOME_WORKLOAD, CONFIGURED, "bootstrap-admin"),
                row("blank Authorization falls back to the SVID", true, "  ", HOME_WORKLOAD, CONFIGURED, "spiffe://home.example/ns/shop/sa/cart"),
                row("anonymous", true, null, none, CONFIGURED, ReadRefusal.UNAUTHENTICATED),
                row("anonymous, no token configured", true, null, none, ABSENT, ReadRefusal.UNAUTHENTICATED),
                row("plain HTTP with the right token", false, "Bearer " + TOKEN, none, CONFIGURED, ReadRefusal.TLS_REQUIRED),
                row("plain HTTP, anonymous", false, null, none, CONFIGURED, ReadRefusal.TLS_REQUIRED),
                row("wrong bearer token", true, "Bearer not-the-token", none, CONFIGURED, ReadRefusal.TOKEN_REJECTED),
                row("token prefix only", true, "Bearer " + TOKEN.substring(0, 20), none, CONFIGURED, ReadRefusal.TOKEN_REJECTED),
                row("token with a suffix", true, "Bearer " + TOKEN + "x", none, CONFIGURED, ReadRefusal.TOKEN_REJECTED),
                row("empty bearer", true, "Bearer ", none, CONFIGURED, ReadRefusal.TOKEN_REJECTED),
                row("Basic scheme", true, "Basic YWRtaW46YWRtaW4=", none, CONFIGURED, ReadRefusal.TOKEN_REJECTED),
                row("bare token without scheme", true, TOKEN, none, CONFIGURED, ReadRefusal.TOKEN_REJECTED),
                row("any token when none is configured", true, "Bearer " + TOKEN, none, ABSENT, ReadRefusal.TOKEN_REJECTED),
                row("wrong token next to a federated SVID", true, "Bearer nope", HOME_WORKLOAD, CONFIGURED, ReadRefusal.TOKEN_REJECTED),
                row("certificate from a foreign root", true, null, FOREIGN_ROOT, CONFIGURED, ReadRefusal.SVID_REJECTED),
                row("expired SVID", true, null, EXPIRED, CONFIGURED, ReadRefusal.SVID_REJECTED),
                row("SVID whose trust domain's CA was revoked", true, null, REVOKED_TD, CONFIGURED, ReadRefusal.SVID_REJECTED),
                row("SVID of a trust domain not federated", true, null, UNFEDERATED_TD, CONFIGURED, ReadRefusal.SVID_REJECTED),
                row("the CA certificate itself as client chain", true, null, List.of(HOME.certificate()), CONFIGURED, ReadRefusal.SVID_REJECTED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void decides(String name, ReadAccess.Request request, BootstrapToken.Setting token, Object expected) {
        ReadVerdict verdict = ReadAccess.decide(request, token, VERIFIER);
        if (expected instanceof ReadRefusal reason) {
            assertThat(verdict).isInstanceOfSatisfying(ReadVerdict.Refused.class, r -> {
                assertThat(r.reason()).isEqualTo(reason);
                assertThat(r.detail()).isNotBlank().doesNotContain(TOKEN);
            });
        } else {
            assertThat(verdict).isInstanceOfSatisfying(ReadVerdict.Granted.class,
                    g -> assertThat(g.principal()).isEqualTo(expected));
        }
    }
}
