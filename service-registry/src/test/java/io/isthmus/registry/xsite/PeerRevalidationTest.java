package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;

/**
 * Re-checking an established TLS connection (real sockets on 127.0.0.1, no JGroups): a peer that still verifies is
 * left alone; once its intermediate is gone from our bundle of its trust domain it is reported with the typed
 * reason, and the bridge's address binding still applies.
 */
class PeerRevalidationTest {
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b", "cluster-c");
    private SSLServerSocket server;
    private SSLSocket client;
    private SSLSocket accepted;

    @AfterEach
    void close() throws Exception {
        for (java.io.Closeable c : new java.io.Closeable[] {client, accepted, server}) {
            if (c != null) {
                c.close();
            }
        }
    }

    /** Site a dials site b's configured bridge address over mutual TLS, as the bridge does. */
    private void connectAToB() throws Exception {
        X509Svid a = federation.svidOf("cluster-a");
        X509Svid b = federation.svidOf("cluster-b");
        InetSocketAddress bAddress = federation.settings("cluster-a").peers().get("cluster-b").bridgeAddresses().get(0);
        server = (SSLServerSocket) TlsContexts.create(() -> b, new SpiffeTrustManager(federation.verifier(), PeerPolicy.anyFederated()))
                .getServerSocketFactory().createServerSocket(bAddress.getPort(), 1, bAddress.getAddress());
        server.setNeedClientAuth(true);
        CompletableFuture<SSLSocket> acceptor = CompletableFuture.supplyAsync(() -> {
            try {
                SSLSocket s = (SSLSocket) server.accept();
                s.startHandshake();
                return s;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        client = (SSLSocket) TlsContexts.create(() -> a, new SpiffeTrustManager(federation.verifier(), PeerPolicy.anyFederated()))
                .getSocketFactory().createSocket(bAddress.getAddress(), bAddress.getPort());
        client.startHandshake();
        accepted = acceptor.get(10, TimeUnit.SECONDS);
    }

    private PeerRevalidation bridgeRecheckAt(String site) {
        BridgeTrustManager trust = new BridgeTrustManager(federation.settings(site), federation.verifierAt(site),
                federation::isGateway);
        return new PeerRevalidation(site, "bridge", trust::recheck);
    }

    @Test
    void leavesAPeerThatStillVerifiesOpen() throws Exception {
        connectAToB();
        // c's intermediate is revoked at a: a's connection with b is not concerned.
        federation.revoke("cluster-c", "cluster-a");
        assertThat(bridgeRecheckAt("cluster-a").recheck(client)).isNull();
        assertThat(bridgeRecheckAt("cluster-b").recheck(accepted)).isNull();
    }

    @Test
    void reportsAPeerWhoseIntermediateWasRemovedFromTheBundle() throws Exception {
        connectAToB();
        federation.revoke("cluster-b", "cluster-a");
        RevokedConnection revoked = bridgeRecheckAt("cluster-a").recheck(client);
        assertThat(revoked).isNotNull();
        assertThat(revoked.reason()).isEqualTo(SvidRejection.SIGNER_NOT_IN_BUNDLE);
        assertThat(revoked.peer()).hasValueSatisfying(id -> assertThat(id).hasToString(
                "spiffe://cluster-b.acme.internal/ns/isthmus-system/sa/gateway"));
        assertThat(revoked.remote().getPort()).isEqualTo(server.getLocalPort());
        assertThat(revoked.message()).contains("is not in the bundle of cluster-b.acme.internal");
        // b did not revoke a, so b's side of the same connection still verifies.
        assertThat(bridgeRecheckAt("cluster-b").recheck(accepted)).isNull();
    }

    @Test
    void appliesTheBridgeAddressBindingAgain() throws Exception {
        connectAToB();
        // The same connection, re-checked by a site a whose configuration does not list b: b's certificate still
        // verifies, but the address a dialed is no configured peer's, as at the handshake.
        SiteSettings a = federation.settings("cluster-a");
        SiteSettings onlyC = new SiteSettings(a.site(), a.trustDomain(), a.bindHost(), a.localPort(), a.localMembers(),
                a.bridgePort(), java.util.Map.of("cluster-c", a.peers().get("cluster-c")));
        PeerRevalidation strict = new PeerRevalidation("cluster-a", "bridge",
                new BridgeTrustManager(onlyC, federation.verifierAt("cluster-a"), federation::isGateway)::recheck);
        RevokedConnection revoked = strict.recheck(client);
        assertThat(revoked).isNotNull();
        assertThat(revoked.reason()).isEqualTo(SvidRejection.UNEXPECTED_ID);
        assertThat(revoked.message()).contains("is not a configured bridge address of any peer site");
    }
}
