package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;

/** Only this cluster's own gateway identity may be a replica; every other verified ID, of any trust domain, may not. */
class ReplicaAdmissionTest {
    private static final SpiffeId GATEWAY = SpiffeId.parse("spiffe://a.acme.internal/ns/isthmus-system/sa/gateway");

    static Stream<Arguments> peers() {
        return Stream.of(
                Arguments.of("this cluster's gateway", GATEWAY.toString(), true),
                Arguments.of("a workload of the same trust domain", "spiffe://a.acme.internal/ns/shop/sa/web", false),
                Arguments.of("a VM agent of the same trust domain", "spiffe://a.acme.internal/ns/demo/sa/vm", false),
                Arguments.of("another service account in the gateway's namespace",
                        "spiffe://a.acme.internal/ns/isthmus-system/sa/gateway-canary", false),
                Arguments.of("a path below the gateway's", "spiffe://a.acme.internal/ns/isthmus-system/sa/gateway/x",
                        false),
                Arguments.of("another trust domain's gateway", "spiffe://b.acme.internal/ns/isthmus-system/sa/gateway",
                        false),
                Arguments.of("the gateway path in a trust domain whose name extends ours",
                        "spiffe://a.acme.internal.evil/ns/isthmus-system/sa/gateway", false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("peers")
    void aReplicaPeerIsExactlyThisGateway(String who, String id, boolean admitted) {
        SvidVerdict verified = new SvidVerdict.Verified(SpiffeId.parse(id), null, null, 1);
        SvidVerdict judged = ReplicaAdmission.judge(GATEWAY, verified);
        assertThat(judged.verified()).as(who).isEqualTo(admitted);
        assertThat(ReplicaAdmission.policy(GATEWAY).check(SpiffeId.parse(id)) == null).as(who + " at the handshake")
                .isEqualTo(admitted);
        if (!admitted) {
            assertThat(((SvidVerdict.Rejected) judged).reason()).isEqualTo(SvidRejection.UNEXPECTED_ID);
            assertThat(((SvidVerdict.Rejected) judged).message()).contains(id).contains(GATEWAY.toString());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejections")
    void aRejectedChainStaysRejected(SvidRejection reason) {
        SvidVerdict rejected = new SvidVerdict.Rejected(reason, "as verified");
        assertThat(ReplicaAdmission.judge(GATEWAY, rejected)).isSameAs(rejected);
    }

    static Stream<SvidRejection> rejections() {
        return Stream.of(SvidRejection.values());
    }
}
