package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.SvidCertificateException;

/** Site-name to trust-domain binding on the bridge, checked on exact addresses (no sockets needed). */
class BridgeTrustManagerTest {
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");
    private final SiteSettings a = withHosts(federation.settings("cluster-a"));
    private final BridgeTrustManager trust = new BridgeTrustManager(a, federation.verifier(), federation::isGateway);

    /** Gives B and C distinct hosts so that dialing one and finding the other can be shown. */
    private static SiteSettings withHosts(SiteSettings s) {
        PeerSite b = s.peers().get("cluster-b");
        PeerSite c = s.peers().get("cluster-c");
        return new SiteSettings(s.site(), s.trustDomain(), s.bindHost(), s.localPort(), s.localMembers(), s.bridgePort(),
                java.util.Map.of(
                        "cluster-b", new PeerSite("cluster-b", List.of(new InetSocketAddress("127.0.0.2", 7900)), b.trustDomain()),
                        "cluster-c", new PeerSite("cluster-c", List.of(new InetSocketAddress("127.0.0.3", 7900)), c.trustDomain())));
    }

    private static X509Certificate[] chain(X509Svid svid) {
        return svid.chain().toArray(X509Certificate[]::new);
    }

    @Test
    void acceptsEachSiteOnlyWithItsOwnTrustDomainWhenDialing() throws Exception {
        assertThat(trust.check(chain(federation.svidOf("cluster-b")), new InetSocketAddress("127.0.0.2", 7900), true))
                .hasToString("spiffe://cluster-b.acme.internal/ns/isthmus-system/sa/gateway");
        assertThatThrownBy(() -> trust.check(chain(federation.svidOf("cluster-b")), new InetSocketAddress("127.0.0.3", 7900), true))
                .isInstanceOf(SvidCertificateException.class)
                .hasMessageContaining("configured as site 'cluster-c' of trust domain cluster-c.acme.internal but presented "
                        + "spiffe://cluster-b.acme.internal/");
        assertThatThrownBy(() -> trust.check(chain(federation.svidOf("cluster-b")), new InetSocketAddress("127.0.0.2", 7901), true))
                .hasMessageContaining("is not a configured bridge address of any peer site");
    }

    @Test
    void acceptsInboundPeersOfConfiguredTrustDomainsFromAnyAddress() throws Exception {
        // The source address of an inbound connection proves nothing (ephemeral port, NAT); which site the peer may
        // speak for is enforced per message by BridgeTcp (see BridgeAuthenticationTest).
        assertThat(trust.check(chain(federation.svidOf("cluster-c")), new InetSocketAddress("10.9.9.9", 40000), false))
                .hasToString("spiffe://cluster-c.acme.internal/ns/isthmus-system/sa/gateway");
        SiteSettings onlyB = new SiteSettings(a.site(), a.trustDomain(), a.bindHost(), a.localPort(), a.localMembers(),
                a.bridgePort(), java.util.Map.of("cluster-b", a.peers().get("cluster-b")));
        BridgeTrustManager strict = new BridgeTrustManager(onlyB, federation.verifier(), federation::isGateway);
        assertThatThrownBy(() -> strict.check(chain(federation.svidOf("cluster-c")), new InetSocketAddress("127.0.0.3", 40000), false))
                .isInstanceOf(SvidCertificateException.class)
                .hasMessageContaining("is not of the trust domain of any configured peer site");
        assertThat(strict.refusedHandshakes()).isEqualTo(1);
    }

    /** Only a site's gateways may be bridge peers: a genuine workload SVID of the right trust domain is refused. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "a workload of cluster-b dialled at cluster-b's bridge, cluster-b, /ns/shop/sa/web, 127.0.0.2, 7900, true",
        "a workload of cluster-c connecting in, cluster-c, /ns/shop/sa/web, 10.9.9.9, 40000, false",
        "a workload of our own trust domain connecting in, cluster-a, /ns/shop/sa/web, 127.0.0.1, 40000, false",
        "another service account in cluster-b's gateway namespace, cluster-b, /ns/isthmus-system/sa/other, 127.0.0.2,"
                + " 7900, true"})
    void refusesEveryIdentityThatIsNotAGatewayOfItsTrustDomain(String who, String site, String path, String host,
            int port, boolean dialed) {
        X509Svid svid = TestCa.svid(federation.intermediate(site), TestFederation.trustDomain(site).workload(path)
                .toString());
        assertThatThrownBy(() -> trust.check(chain(svid), new InetSocketAddress(host, port), dialed)).as(who)
                .isInstanceOfSatisfying(SvidCertificateException.class,
                        e -> assertThat(e.reason()).isEqualTo(SvidRejection.UNEXPECTED_ID))
                .hasMessageContaining("is not a gateway identity of " + TestFederation.trustDomain(site).name());
        assertThat(trust.recheck(chain(svid), new InetSocketAddress(host, port), dialed).verified()).as(who).isFalse();
    }

    @Test
    void refusesCertificatesOfAnotherRootWithTheVerifiersReason() {
        X509Svid foreign = TestFederation.gatewaySvid(TestCa.create().intermediate("cluster-b.acme.internal"), "cluster-b");
        assertThatThrownBy(() -> trust.check(chain(foreign), new InetSocketAddress("127.0.0.2", 7900), true))
                .isInstanceOfSatisfying(SvidCertificateException.class,
                        e -> assertThat(e.reason()).isEqualTo(SvidRejection.UNKNOWN_ROOT))
                .hasMessageContaining("does not chain to a federation root");
    }
}
