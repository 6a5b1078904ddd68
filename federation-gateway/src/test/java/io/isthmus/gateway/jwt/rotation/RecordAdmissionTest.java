package io.isthmus.gateway.jwt.rotation;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.jwt.rotation.RecordAdmission.Reason;
import io.isthmus.gateway.jwt.rotation.RecordAdmission.Verdict;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.TestCa;

/**
 * Who may write the cluster's JWT rotation record: one row per rule, each with a real SVID of the test PKI, signed
 * and read back through the wire format, and the chain judged by the real SVID verifier. The attacker's rows: a
 * federated gateway of another trust domain (its SVID verifies, for its own domain), a workload of ours, a CA no
 * bundle holds, and a genuine record edited after signing.
 */
class RecordAdmissionTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final TrustDomain B = new TrustDomain("b.test");
    private static final SpiffeId GATEWAY_A = SpiffeId.parse("spiffe://a.test/ns/isthmus-system/sa/gateway");
    private static final Instant NOW = Instant.parse("2026-12-05T09:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final Duration SKEW = Duration.ofSeconds(30);
    /** Made three hours ago, so that it can have signed an SVID that has expired by now. */
    private static final TestCa PKI = TestCa.create(Clock.fixed(NOW.minus(Duration.ofHours(3)), ZoneOffset.UTC));
    private static final CaCredential CA_A = PKI.intermediate(A.name());
    private static final CaCredential CA_B = PKI.intermediate(B.name());
    /** Chains to the federation root, but no bundle lists it (a CA the intruder minted, or a retired one). */
    private static final CaCredential ROGUE_A = PKI.intermediate(A.name());
    private static final X509SvidVerifier VERIFIER = new X509SvidVerifier(PKI.roots(), td -> BundleSet.of(List.of(
            bundle(A, CA_A.certificate()), bundle(B, CA_B.certificate()))).bundleFor(td), CLOCK, SKEW);

    private static TrustBundle bundle(TrustDomain td, X509Certificate ca) {
        return new TrustBundle(td, List.of(ca), List.of(), 1, Optional.empty());
    }

    private static JwtRotationRecord record(TrustDomain td, long generation, Instant at) {
        return new JwtRotationRecord(td, generation, JwtRotationRecord.Step.ACTIVATE, generation - 1, "bootstrap-token",
                at, "replica-0");
    }

    private static Verdict decide(String wire, long applied) {
        SignedRotationRecord signed = SignedRotationRecord.read(wire);
        return RecordAdmission.decide(A, GATEWAY_A, VERIFIER.verifyEstablished(signed.chain()),
                signed.signatureValid(), JwtRotationRecord.parse(signed.payload()), applied, SKEW, NOW);
    }

    private static String signed(JwtRotationRecord r, X509Svid by) {
        return SignedRotationRecord.sign(r, by);
    }

    static Stream<Arguments> rows() {
        X509Svid gatewayA = TestCa.svid(CA_A, GATEWAY_A.toString(), CLOCK);
        X509Svid gatewayB = TestCa.svid(CA_B, "spiffe://b.test/ns/isthmus-system/sa/gateway", CLOCK);
        X509Svid workloadA = TestCa.svid(CA_A, "spiffe://a.test/ns/shop/sa/web", CLOCK);
        X509Svid rogue = TestCa.svid(ROGUE_A, GATEWAY_A.toString(), CLOCK);
        // This cluster's gateway SVID of two hours ago, expired an hour ago, and a record it signed then.
        Instant then = NOW.minus(Duration.ofHours(2));
        X509Svid expired = TestCa.svid(CA_A, GATEWAY_A.toString(), Clock.fixed(then, ZoneOffset.UTC));
        String old = signed(record(A, 3, then.plus(Duration.ofMinutes(5))), expired);
        String genuine = signed(record(A, 3, NOW), gatewayA);
        String edited = genuine.replace("\\\"step\\\":\\\"activate\\\"", "\\\"step\\\":\\\"prepare\\\"")
                .replace("\\\"key_generation\\\":2", "\\\"key_generation\\\":3");
        return Stream.of(
                Arguments.of("this cluster's gateway, a step not applied yet", genuine, 2L, "apply", null),
                Arguments.of("this cluster's gateway, a step applied already", genuine, 3L, "applied", null),
                Arguments.of("an older step replayed", signed(record(A, 2, NOW), gatewayA), 3L, "applied", null),
                Arguments.of("a federated gateway of another trust domain", signed(record(A, 9, NOW), gatewayB), 3L,
                        "refused", Reason.FOREIGN_TRUST_DOMAIN),
                Arguments.of("that gateway, naming its own domain", signed(record(B, 9, NOW), gatewayB), 3L,
                        "refused", Reason.FOREIGN_TRUST_DOMAIN),
                Arguments.of("our gateway, a record naming another domain", signed(record(B, 9, NOW), gatewayA), 3L,
                        "refused", Reason.FOREIGN_TRUST_DOMAIN),
                Arguments.of("a workload of this trust domain", signed(record(A, 9, NOW), workloadA), 3L, "refused",
                        Reason.NOT_THE_GATEWAY),
                Arguments.of("the gateway's name under a CA no bundle holds", signed(record(A, 9, NOW), rogue), 3L,
                        "refused", Reason.SIGNER_NOT_VERIFIED),
                Arguments.of("a genuine record edited after signing", edited, 2L, "refused", Reason.BAD_SIGNATURE),
                Arguments.of("a genuine record replayed after its signer expired, not applied here", old, 2L,
                        "refused", Reason.SIGNER_EXPIRED),
                Arguments.of("that record, applied here already", old, 3L, "applied", null),
                Arguments.of("a time its SVID was not valid at", signed(record(A, 9, NOW.minus(Duration.ofDays(3))),
                        gatewayA), 3L, "refused", Reason.SIGNED_OUTSIDE_SVID_VALIDITY));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String row, String wire, long applied, String expected, Reason reason) {
        Verdict v = decide(wire, applied);
        switch (expected) {
            case "apply" -> assertThat(v).isInstanceOfSatisfying(Verdict.Apply.class,
                    a -> assertThat(a.record().generation()).isEqualTo(3));
            case "applied" -> assertThat(v).isInstanceOf(Verdict.Applied.class);
            default -> assertThat(v).isInstanceOfSatisfying(Verdict.Refused.class,
                    r -> assertThat(r.reason()).as(r.toString()).isEqualTo(reason));
        }
    }
}
