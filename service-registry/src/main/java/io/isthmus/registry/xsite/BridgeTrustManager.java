package io.isthmus.registry.xsite;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

import org.jboss.logging.Logger;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.SvidCertificateException;

/**
 * Authenticates cross-site bridge peers. JGroups' TLS only asks the JDK to validate a chain and checks no name,
 * so this trust manager does it:
 * <ol>
 * <li>the peer's chain is an X.509-SVID that {@link X509SvidVerifier} accepts: it chains to the federation root
 * through a CA that is in the current bundle of the SVID's trust domain and whose name constraints permit it;</li>
 * <li>when we dial (client side), the remote {@code host:port} must be one of a peer site's configured bridge
 * addresses and the SVID must be of exactly that site's trust domain ({@link PeerSite#trustDomain()});</li>
 * <li>when a peer dials us (server side) its source address says nothing (ephemeral port, possibly NAT), so the
 * SVID's trust domain must be that of a configured peer site or our own. Which site the peer may then speak for
 * is enforced per message by {@link BridgeTcp}: the site named in each message must have the trust domain proven
 * on the connection.</li>
 * </ol>
 * In every case the SVID must also be one of its trust domain's gateway identities: only a site's gateways may speak
 * for it on the bridge. A bridge member receives every site's registry and sends cross-site requests; a workload of a
 * peer's trust domain (or of ours) that could reach a bridge port was admitted as that site before.
 * Thread-safe; no I/O beyond resolving configured host names.
 */
public final class BridgeTrustManager extends X509ExtendedTrustManager {
    private static final Logger LOG = Logger.getLogger(BridgeTrustManager.class);
    private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

    /** Read on every check: the peer sites change with the federation's membership. */
    private final java.util.function.Supplier<SiteSettings> settings;
    private final X509SvidVerifier verifier;
    /** Whether a verified ID is a gateway identity of its trust domain (ours or a peer's); read at every check. */
    private final Predicate<SpiffeId> gateways;
    private final AtomicLong refused = new AtomicLong();

    public BridgeTrustManager(SiteSettings settings, X509SvidVerifier verifier, Predicate<SpiffeId> gateways) {
        this(() -> settings, verifier, gateways);
    }

    /**
     * @param settings the settings in force, read at every handshake and re-check
     * @param gateways whether a verified SPIFFE ID is one of its trust domain's gateway identities (this gateway's own
     *                 and each peer's, which change with the federation's membership)
     */
    public BridgeTrustManager(java.util.function.Supplier<SiteSettings> settings, X509SvidVerifier verifier,
            Predicate<SpiffeId> gateways) {
        this.settings = settings;
        this.verifier = verifier;
        this.gateways = gateways;
    }

    /** Handshakes refused so far, for metrics. */
    public long refusedHandshakes() {
        return refused.get();
    }

    /**
     * Verifies {@code chain} presented by the peer at {@code remote}. {@code dialed} is true when we opened the
     * connection (so {@code remote} is the peer's listening address), false when the peer did.
     */
    public SpiffeId check(X509Certificate[] chain, InetSocketAddress remote, boolean dialed) throws SvidCertificateException {
        try {
            return verify(chain, remote, dialed, false).id();
        } catch (SvidCertificateException e) {
            refused.incrementAndGet();
            LOG.warnf("site %s refused a cross-site bridge peer at %s: %s", settings.get().site(), remote, e.getMessage());
            throw e;
        }
    }

    /**
     * The same rules as at the handshake, for a connection that is already open (after the trust changed), except
     * that the leaf's own expiry since the handshake is not held against it ({@link X509SvidVerifier#verifyEstablished});
     * counts nothing and logs nothing: the caller decides what a rejection means.
     */
    public SvidVerdict recheck(X509Certificate[] chain, InetSocketAddress remote, boolean dialed) {
        try {
            return verify(chain, remote, dialed, true);
        } catch (SvidCertificateException e) {
            return new SvidVerdict.Rejected(e.reason(), e.getMessage());
        }
    }

    private SvidVerdict.Verified verify(X509Certificate[] chain, InetSocketAddress remote, boolean dialed,
            boolean established) throws SvidCertificateException {
        List<X509Certificate> presented = chain == null ? null : Arrays.asList(chain);
        SvidVerdict verdict = established ? verifier.verifyEstablished(presented) : verifier.verify(presented);
        if (verdict instanceof SvidVerdict.Rejected rejected) {
            throw new SvidCertificateException(rejected.reason(), "bridge peer at " + remote + ": " + rejected.message());
        }
        SvidVerdict.Verified verified = (SvidVerdict.Verified) verdict;
        SpiffeId id = verified.id();
        TrustDomain td = id.trustDomain();
        if (remote == null) {
            throw new SvidCertificateException(SvidRejection.UNEXPECTED_ID, "bridge peer " + id
                    + " has no known remote address, so its site cannot be bound to a trust domain");
        }
        if (!gateways.test(id)) {
            throw new SvidCertificateException(SvidRejection.UNEXPECTED_ID, "bridge peer " + id + " at " + remote
                    + " is not a gateway identity of " + td + ": only a site's gateways may speak for it on the bridge"
                    + " (isthmus.peers.<name>.gateway-ids, or the federation membership's gateway IDs)");
        }
        if (dialed) {
            for (PeerSite peer : settings.get().peers().values()) {
                if (matchesAddress(peer.bridgeAddresses(), remote)) {
                    if (peer.trustDomain().equals(td)) {
                        return verified;
                    }
                    throw new SvidCertificateException(SvidRejection.UNEXPECTED_ID, "bridge peer at " + remote
                            + " is configured as site '" + peer.site() + "' of trust domain " + peer.trustDomain()
                            + " but presented " + id);
                }
            }
            if (td.equals(settings.get().trustDomain()) && matchesHost(localHosts(), remote.getAddress())) {
                return verified;
            }
            throw new SvidCertificateException(SvidRejection.UNEXPECTED_ID, "bridge address " + remote
                    + " is not a configured bridge address of any peer site (presented " + id + ")");
        }
        if (td.equals(settings.get().trustDomain())) {
            return verified;
        }
        for (PeerSite peer : settings.get().peers().values()) {
            if (peer.trustDomain().equals(td)) {
                return verified;
            }
        }
        throw new SvidCertificateException(SvidRejection.UNEXPECTED_ID, "bridge peer " + id + " connecting from "
                + remote.getAddress() + " is not of the trust domain of any configured peer site (configured: "
                + describePeers() + ")");
    }

    private String describePeers() {
        StringBuilder sb = new StringBuilder();
        settings.get().peers().values().forEach(p -> sb.append(p.site()).append('=').append(p.trustDomain())
                .append('@').append(p.bridgeAddresses()).append(' '));
        return sb.toString().trim();
    }

    private List<InetSocketAddress> localHosts() {
        List<InetSocketAddress> hosts = new java.util.ArrayList<>(settings.get().localMembers());
        hosts.add(new InetSocketAddress(settings.get().bindHost(), 0));
        return hosts;
    }

    private static boolean matchesAddress(List<InetSocketAddress> configured, InetSocketAddress remote) {
        for (InetSocketAddress a : configured) {
            if (a.getPort() == remote.getPort() && sameHost(a, remote.getAddress())) {
                return true;
            }
        }
        return false;
    }

    private static boolean matchesHost(java.util.Collection<InetSocketAddress> configured, InetAddress remote) {
        for (InetSocketAddress a : configured) {
            if (sameHost(a, remote)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code remote} is one of the configured host's addresses now. A load balancer's name often has several
     * (an AWS NLB: one per zone), and the peer advertises the one it resolved, so every address of the name counts,
     * resolved again here (the JVM caches answers briefly) rather than once at startup.
     */
    private static boolean sameHost(InetSocketAddress configured, InetAddress remote) {
        if (remote == null) {
            return false;
        }
        if (remote.equals(configured.getAddress())) {
            return true;
        }
        try {
            return Arrays.asList(InetAddress.getAllByName(configured.getHostString())).contains(remote);
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static InetSocketAddress remoteOf(Socket socket) {
        return socket == null || socket.getInetAddress() == null ? null
                : new InetSocketAddress(socket.getInetAddress(), socket.getPort());
    }

    private static InetSocketAddress remoteOf(SSLEngine engine) {
        return engine == null || engine.getPeerHost() == null ? null
                : new InetSocketAddress(engine.getPeerHost(), engine.getPeerPort());
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, remoteOf(socket), false);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, remoteOf(socket), true);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, remoteOf(engine), false);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, remoteOf(engine), true);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, null, false);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, null, true);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return NO_ISSUERS;
    }
}
