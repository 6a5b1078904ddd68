package io.isthmus.trust.federation;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.InvalidAuthorityException;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidCertificateException;

/**
 * Authenticates a peer's bundle endpoint ({@code https_spiffe}). Once we hold a bundle of the peer, the
 * endpoint's SVID must verify against it: a CA the peer has withdrawn (say, because its key leaked) cannot
 * serve a forged bundle that re-admits itself. Before the first bundle, the endpoint is bootstrapped from the
 * federation root: the intermediate it presents must chain to the root and be constrained to the peer's trust
 * domain. Deleting the persisted bundle of a peer re-bootstraps it.
 */
final class BundleEndpointTrustManager extends X509ExtendedTrustManager {
    private final PeerConfig peer;
    private final SpiffeTrustManager established;
    private final AuthorityValidator authorities;
    private final BundleSource known;
    private final FederationRoots roots;
    private final Clock clock;
    private final Duration skew;
    private final PeerPolicy policy;

    BundleEndpointTrustManager(PeerConfig peer, FederationRoots roots, BundleSource known, Clock clock, Duration skew) {
        this.peer = peer;
        this.known = known;
        this.roots = roots;
        this.clock = clock;
        this.skew = skew;
        this.policy = peer.endpointId().map(PeerPolicy::exactly).orElseGet(() -> PeerPolicy.memberOf(peer.trustDomain()));
        this.established = new SpiffeTrustManager(new X509SvidVerifier(roots, known, clock, skew), policy);
        this.authorities = new AuthorityValidator(roots, skew);
    }

    private void check(X509Certificate[] chain) throws CertificateException {
        if (known.bundleFor(peer.trustDomain()).isPresent()) {
            established.check(chain);
            return;
        }
        if (chain == null || chain.length < 2) {
            throw new SvidCertificateException(SvidRejection.SIGNER_NOT_IN_BUNDLE, "bundle endpoint of "
                    + peer.trustDomain() + " presented no intermediate; cannot bootstrap from the federation root");
        }
        try {
            authorities.validate(chain[1], peer.trustDomain(), clock.instant());
        } catch (InvalidAuthorityException e) {
            throw new SvidCertificateException(SvidRejection.UNKNOWN_ROOT, "bootstrapping " + peer.trustDomain()
                    + ": " + e.getMessage());
        }
        TrustBundle bootstrap = new TrustBundle(peer.trustDomain(), List.of(chain[1]), List.of(), 0, Optional.empty());
        BundleSource only = td -> td.equals(peer.trustDomain()) ? Optional.of(bootstrap) : Optional.empty();
        new SpiffeTrustManager(new X509SvidVerifier(roots, only, clock, skew), policy).check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("client side only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
