package io.isthmus.agent.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/**
 * After enrolment the agent's client is pinned to the VM's own trust domain (the one of its SVID, kept in the state):
 * a gateway of a federated peer answering at the VM's gateway address is refused on renewal, trust refresh and the
 * other agent calls, although the agent holds that peer's bundle and the peer's gateway SVID verifies against it.
 */
class RenewalServerOfAnotherTrustDomainTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final SpiffeId A_VM = SpiffeId.parse("spiffe://a.test/ns/shop/sa/billing-vm");

    private final TestCa federation = TestCa.create();
    private final CaCredential aIntermediate = federation.intermediate("a.test");
    private final CaCredential bIntermediate = federation.intermediate("b.test");
    private final X509Svid vm = TestCa.svid(aIntermediate, A_VM.toString());
    /** The federation's bundles, as the agent holds them after enrolment: its own and the peer's. */
    private final BundleSet bundles = BundleSet.of(List.of(
            new TrustBundle(A, List.of(aIntermediate.certificate()), List.of(), 1, Optional.empty()),
            new TrustBundle(new TrustDomain("b.test"), List.of(bIntermediate.certificate()), List.of(), 1,
                    Optional.empty())));

    @Test
    void aFederatedPeersGatewayIsRefusedAfterEnrolment() throws Exception {
        try (FakeGateway b = FakeGateway.start(TestCa.svid(bIntermediate, "spiffe://b.test" + GatewayClient.GATEWAY_PATH),
                bIntermediate, SpiffeId.parse("spiffe://b.test/ns/shop/sa/billing-vm"))) {
            GatewayClient client = new GatewayClient(b.uri(), federation::roots, A, Clock.systemUTC());

            assertThatThrownBy(() -> client.renew(vm, bundles)).isInstanceOf(GatewayException.class);
            assertThatThrownBy(() -> client.trust(bundles)).isInstanceOf(GatewayException.class);
            assertThatThrownBy(() -> client.jwtSvid(vm, bundles, A_VM, List.of("aud"))).isInstanceOf(GatewayException.class);
            assertThatThrownBy(() -> client.issueWorkload(vm, bundles, A.workload("ns/shop/sa/billing-vm/w")))
                    .isInstanceOf(GatewayException.class);
            assertThatThrownBy(() -> client.registrationEntries(vm, bundles)).isInstanceOf(GatewayException.class);

            assertThat(b.received()).as("what b.test's gateway received from an agent of a.test").isEmpty();
        }
    }

    @Test
    void theVmsOwnGatewayRenews() throws Exception {
        try (FakeGateway a = FakeGateway.start(TestCa.svid(aIntermediate, "spiffe://a.test" + GatewayClient.GATEWAY_PATH),
                aIntermediate, A_VM)) {
            GatewayClient.Issued renewed = new GatewayClient(a.uri(), federation::roots, A, Clock.systemUTC())
                    .renew(vm, bundles);

            assertThat(renewed.svid().id()).isEqualTo(A_VM);
            assertThat(a.received()).extracting(FakeGateway.Received::path).containsExactly("/v1/renew");
        }
    }
}
