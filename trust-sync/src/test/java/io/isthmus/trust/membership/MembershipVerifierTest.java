package io.isthmus.trust.membership;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.SignedDocuments;
import io.isthmus.trust.testing.TestCa;

/** The membership document rules, row by row: what is taken, and each refusal with its named reason. */
class MembershipVerifierTest {
    private static final TestCa PKI = TestCa.create();
    private static final TestCa FOREIGN = TestCa.create();
    private static final CaCredential EAST_CA = PKI.intermediate("east.acme.internal");
    private static final FederationRoots ROOTS = PKI.roots();
    private static final MembershipVerifier VERIFIER = new MembershipVerifier();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    static Member member(String name, String td) {
        TrustDomain domain = new TrustDomain(td);
        return new Member(name, domain, URI.create("https://gw-" + name + ":8443/"),
                List.of(HostPort.parse("gw-" + name + ":7900")), HostPort.parse("gw-" + name + ":15443"),
                List.of(SpiffeId.ofServiceAccount(domain, "isthmus-system", "isthmus-gateway")), "region-" + name, "");
    }

    static Membership three(long version) {
        return new Membership(version, Instant.parse("2026-12-04T22:00:00Z"), List.of(member("east", "east.acme.internal"),
                member("west", "west.acme.internal"), member("onprem", "onprem.acme.internal")));
    }

    /** The federation's roots these documents are signed under. */
    static FederationRoots roots() {
        return ROOTS;
    }

    static String signedByRoot(Membership m) {
        return MembershipJws.sign(m, PKI.root().key(), PKI.rootCertificate());
    }

    /** A JWS over {@code payloadJson} signed by the root, for payloads the record types would not let us build. */
    static String rawSigned(String payloadJson) {
        return SignedDocuments.sign(payloadJson, PKI.root().key(), PKI.rootCertificate());
    }

    static String payloadOf(Membership m) {
        return new MembershipCodec().toJson(m);
    }

    static Stream<Arguments> documents() {
        String good = signedByRoot(three(2));
        List<String> parts = MembershipJws.parts(good);
        X509Svid leaf = TestCa.svid(EAST_CA, "spiffe://east.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        String twoEast = payloadOf(three(3)).replace("\"name\":\"west\"", "\"name\":\"east\"");
        String twoDomains = payloadOf(three(3)).replace("west.acme.internal", "east.acme.internal");
        Function<String, String> noneAlg = payload -> B64.encodeToString(
                "{\"alg\":\"none\",\"typ\":\"isthmus-membership+jws\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + B64.encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + ".";
        return Stream.of(
                Arguments.of("signed by the root, newer than held", good, null),
                Arguments.of("bare JSON", payloadOf(three(2)), MembershipRefusal.UNSIGNED),
                Arguments.of("alg none", noneAlg.apply(payloadOf(three(2))), MembershipRefusal.UNSIGNED),
                Arguments.of("signature stripped", parts.get(0) + "." + parts.get(1) + ".", MembershipRefusal.UNSIGNED),
                Arguments.of("header and payload only", parts.get(0) + "." + parts.get(1), MembershipRefusal.UNSIGNED),
                Arguments.of("payload altered after signing", parts.get(0) + "."
                        + B64.encodeToString(payloadOf(three(9)).getBytes(StandardCharsets.UTF_8)) + "." + parts.get(2),
                        MembershipRefusal.BAD_SIGNATURE),
                Arguments.of("signed by a cluster's intermediate",
                        MembershipJws.sign(three(2), EAST_CA.key(), EAST_CA.certificate()),
                        MembershipRefusal.SIGNED_BY_INTERMEDIATE),
                Arguments.of("signed by a gateway SVID", MembershipJws.sign(three(2), leaf.key(), leaf.leaf()),
                        MembershipRefusal.SIGNED_BY_LEAF),
                Arguments.of("signed by another federation's root",
                        MembershipJws.sign(three(2), FOREIGN.root().key(), FOREIGN.rootCertificate()),
                        MembershipRefusal.UNKNOWN_ROOT),
                Arguments.of("the version held, replayed", signedByRoot(three(1)), MembershipRefusal.VERSION_NOT_NEWER),
                Arguments.of("an older version, replayed", signedByRoot(new Membership(1, Instant.EPOCH, List.of())),
                        MembershipRefusal.VERSION_NOT_NEWER),
                Arguments.of("two members named east", rawSigned(twoEast), MembershipRefusal.DUPLICATE_NAME),
                Arguments.of("two members of east.acme.internal", rawSigned(twoDomains),
                        MembershipRefusal.DUPLICATE_TRUST_DOMAIN),
                Arguments.of("not a JWS", "hello", MembershipRefusal.MALFORMED),
                Arguments.of("empty", "", MembershipRefusal.MALFORMED),
                Arguments.of("payload not JSON", rawSigned("not json"), MembershipRefusal.MALFORMED),
                Arguments.of("unknown field", rawSigned(payloadOf(three(3)).replace("\"version\"", "\"admin\":true,\"version\"")),
                        MembershipRefusal.MALFORMED),
                Arguments.of("version zero", rawSigned(payloadOf(three(3)).replace("\"version\":3", "\"version\":0")),
                        MembershipRefusal.MALFORMED),
                Arguments.of("http bundle endpoint", rawSigned(payloadOf(three(3)).replace("https://gw-west", "http://gw-west")),
                        MembershipRefusal.MALFORMED),
                Arguments.of("bridge without port", rawSigned(payloadOf(three(3)).replace("gw-west:7900", "gw-west")),
                        MembershipRefusal.MALFORMED),
                Arguments.of("gateway id of another trust domain", rawSigned(payloadOf(three(3))
                        .replace("spiffe://west.acme.internal/", "spiffe://east.acme.internal/")), MembershipRefusal.MALFORMED),
                Arguments.of("trust domain with upper case", rawSigned(payloadOf(three(3)).replace("\"west.acme.internal\"",
                        "\"West.acme.internal\"")), MembershipRefusal.MALFORMED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("documents")
    void decidesEachDocument(String row, String compact, MembershipRefusal expected) {
        MembershipVerdict verdict = VERIFIER.verify(compact, ROOTS, OptionalLong.of(1));
        if (expected == null) {
            assertThat(verdict).isInstanceOf(MembershipVerdict.Accepted.class);
            assertThat(((MembershipVerdict.Accepted) verdict).document().membership()).isEqualTo(three(2));
        } else {
            assertThat(verdict).isInstanceOfSatisfying(MembershipVerdict.Refused.class, r -> {
                assertThat(r.reason()).as(r.message()).isEqualTo(expected);
                assertThat(r.message()).isNotBlank();
            });
        }
    }

    @Test
    void namesTheIntermediateThatSignedAndItsRoot() {
        MembershipVerdict v = VERIFIER.verify(MembershipJws.sign(three(2), EAST_CA.key(), EAST_CA.certificate()), ROOTS,
                OptionalLong.empty());
        assertThat(((MembershipVerdict.Refused) v).message()).contains("intermediate CA", "issued by federation root",
                "only a federation root may change membership");
    }

    @Test
    void firstDocumentIsTakenWithNothingHeld() {
        assertThat(VERIFIER.verify(signedByRoot(three(1)), ROOTS, OptionalLong.empty()))
                .isInstanceOf(MembershipVerdict.Accepted.class);
    }

    @Test
    void secondRootOfARotationMaySign() {
        TestCa next = TestCa.create();
        FederationRoots both = new FederationRoots(List.of(PKI.rootCertificate(), next.rootCertificate()));
        String compact = MembershipJws.sign(three(2), next.root().key(), next.rootCertificate());
        assertThat(VERIFIER.verify(compact, both, OptionalLong.of(1))).isInstanceOf(MembershipVerdict.Accepted.class);
    }

    static MembershipVerdict.Accepted accepted(Membership m) {
        return (MembershipVerdict.Accepted) VERIFIER.verify(signedByRoot(m), ROOTS, OptionalLong.empty());
    }

    static Stream<Arguments> admissions() {
        Membership four = three(2).with(member("edge", "edge.acme.internal"), 2, Instant.EPOCH);
        TrustDomain edge = new TrustDomain("edge.acme.internal");
        return Stream.of(
                Arguments.of("a new member whose bundle verified", four, Map.of(edge, new MemberCheck.Verified(
                        new io.isthmus.trust.bundle.TrustBundle(edge, List.of(), List.of(), 1, Optional.empty()))), null, 0),
                Arguments.of("a new member not reachable yet", four, Map.of(), null, 1),
                Arguments.of("a new member whose intermediate is not under the root", four,
                        Map.of(edge, new MemberCheck.NotUnderRoot("intermediate of edge.acme.internal chains to no root")),
                        MembershipRefusal.MEMBER_NOT_UNDER_ROOT, 0),
                Arguments.of("this cluster's trust domain under another name",
                        new Membership(2, Instant.EPOCH, List.of(member("oriente", "east.acme.internal"))), Map.of(),
                        MembershipRefusal.SELF_MISMATCH, 0),
                Arguments.of("this cluster's name with another trust domain",
                        new Membership(2, Instant.EPOCH, List.of(member("east", "elsewhere.acme.internal"))), Map.of(),
                        MembershipRefusal.SELF_MISMATCH, 0),
                Arguments.of("this cluster removed", three(2).without("east", 2, Instant.EPOCH), Map.of(), null, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("admissions")
    void admitsAgainstThisClusterAndTheMembersAdded(String row, Membership next, Map<TrustDomain, MemberCheck> checks,
            MembershipRefusal expected, int warnings) {
        MembershipVerdict v = VERIFIER.admit(accepted(next), Optional.of(three(1)), "east",
                new TrustDomain("east.acme.internal"), checks);
        if (expected == null) {
            assertThat(v).isInstanceOfSatisfying(MembershipVerdict.Accepted.class,
                    a -> assertThat(a.warnings()).hasSize(warnings));
        } else {
            assertThat(v).isInstanceOfSatisfying(MembershipVerdict.Refused.class,
                    r -> assertThat(r.reason()).as(r.message()).isEqualTo(expected));
        }
    }

    @Test
    void aMemberWhoseEndpointMovedIsCheckedAgain() {
        Member moved = new Member("west", new TrustDomain("west.acme.internal"), URI.create("https://new-west:8443/"),
                List.of(), HostPort.parse("new-west:15443"), member("west", "west.acme.internal").gatewayIds(), "", "");
        assertThat(MembershipVerifier.added(Optional.of(three(1)), three(1).with(moved, 2, Instant.EPOCH)))
                .extracting(Member::name).containsExactly("west");
        assertThat(MembershipVerifier.added(Optional.of(three(1)), three(2))).isEmpty();
    }

    @Test
    void theCodecRoundTrips() {
        MembershipCodec codec = new MembershipCodec();
        assertThat(codec.parse(codec.toJson(three(7)))).isEqualTo(three(7));
    }
}
