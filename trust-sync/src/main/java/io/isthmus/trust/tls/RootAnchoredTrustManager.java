package io.isthmus.trust.tls;

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
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.ca.InvalidAuthorityException;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.X509SvidVerifier;

/**
 * Authenticates a server of trust domain {@code td} (a gateway, seen by a VM agent or the operator CLI). Once the
 * caller holds a bundle of {@code td}, the server's SVID must verify against it. Before that (first contact,
 * knowing only the federation root), the intermediate the server presents must chain to the root and be
 * name-constrained to {@code td}, and the leaf must verify under it. Either way the ID must satisfy
 * {@code policy}. Client side only; thread-safe.
 */
public final class RootAnchoredTrustManager extends X509ExtendedTrustManager {
    private final TrustDomain trustDomain;
    private final PeerPolicy policy;
    private final RootsSource roots;
    private final BundleSource known;
    private final Clock clock;
    private final Duration skew;
    private final SpiffeTrustManager established;
    private final AuthorityValidator authorities;

    /**
     * @param trustDomain the server's trust domain; null to take the one its leaf names (first contact without
     *     configuration: then {@code policy} alone decides which IDs are acceptable, e.g. a gateway path)
     */
    public RootAnchoredTrustManager(TrustDomain trustDomain, PeerPolicy policy, RootsSource roots, BundleSource known,
            Clock clock, Duration skew) {
        this.trustDomain = trustDomain;
        this.policy = policy;
        this.roots = roots;
        this.known = known;
        this.clock = clock;
        this.skew = skew;
        this.established = new SpiffeTrustManager(new X509SvidVerifier(roots, known, clock, skew), policy);
        this.authorities = new AuthorityValidator(roots, skew);
    }

    /** Verifies a server chain; throws {@link SvidCertificateException} with the typed reason. */
    public void check(X509Certificate[] chain) throws CertificateException {
        TrustDomain trustDomain = this.trustDomain != null ? this.trustDomain : named(chain);
        if (known.bundleFor(trustDomain).isPresent()) {
            established.check(chain);
            return;
        }
        if (chain == null || chain.length < 2) {
            throw new SvidCertificateException(SvidRejection.SIGNER_NOT_IN_BUNDLE, "server of " + trustDomain
                    + " presented no intermediate; cannot authenticate it from the federation root alone");
        }
        try {
            authorities.validate(chain[1], trustDomain, clock.instant());
        } catch (InvalidAuthorityException e) {
            throw new SvidCertificateException(SvidRejection.UNKNOWN_ROOT, "server of " + trustDomain + ": " + e.getMessage());
        }
        TrustBundle bootstrap = new TrustBundle(trustDomain, List.of(chain[1]), List.of(), 0, Optional.empty());
        BundleSource only = td -> td.equals(trustDomain) ? Optional.of(bootstrap) : Optional.empty();
        new SpiffeTrustManager(new X509SvidVerifier(roots, only, clock, skew), policy).check(chain);
    }

    private static TrustDomain named(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new SvidCertificateException(SvidRejection.EMPTY_CHAIN, "server presented no certificate");
        }
        List<String> uris = io.isthmus.trust.x509.Certificates.uriSans(chain[0]);
        if (uris.size() != 1) {
            throw new SvidCertificateException(SvidRejection.NO_URI_SAN, "server certificate has " + uris.size()
                    + " URI SANs; an X.509-SVID has exactly one");
        }
        return io.isthmus.trust.spiffe.SpiffeId.tryParse(uris.get(0)).map(io.isthmus.trust.spiffe.SpiffeId::trustDomain)
                .orElseThrow(() -> new SvidCertificateException(SvidRejection.INVALID_SPIFFE_ID, "server URI SAN "
                        + uris.get(0) + " is not a SPIFFE ID"));
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
