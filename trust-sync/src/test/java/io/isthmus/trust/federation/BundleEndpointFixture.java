package io.isthmus.trust.federation;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.endpoint.ConnectionLimits;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;

/** A gateway's bundle endpoint on loopback, with real test PKI, and the TLS a peer fetching from it uses. */
record BundleEndpointFixture(TrustDomain td, TestCa pki, X509Svid svid, TrustBundle bundle) {
    static BundleEndpointFixture create() throws Exception {
        TrustDomain td = new TrustDomain("b.acme.internal");
        TestCa pki = TestCa.create();
        CaCredential ca = pki.intermediate(td.name());
        X509Svid svid = TestCa.svid(ca, "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        return new BundleEndpointFixture(td, pki, svid,
                new TrustBundle(td, List.of(ca.certificate()), List.of(), 1, Optional.empty()));
    }

    /** Starts serving on a free loopback port, stating {@code clock}'s time. */
    BundleEndpointServer start(Clock clock) throws Exception {
        return BundleEndpointServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), () -> svid,
                () -> bundle, new BundleCodec(), null, clock);
    }

    /** Starts serving on a free loopback port with these connection limits. */
    BundleEndpointServer start(Clock clock, ConnectionLimits limits) throws Exception {
        return BundleEndpointServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), () -> svid,
                () -> bundle, new BundleCodec(), null, clock, limits);
    }

    /** A peer's TLS: the endpoint's SVID verified from the root, as at first contact. */
    SSLContext peerTls() throws Exception {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {new RootAnchoredTrustManager(td, PeerPolicy.memberOf(td), pki.roots(),
                ignored -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30))}, null);
        return tls;
    }
}
