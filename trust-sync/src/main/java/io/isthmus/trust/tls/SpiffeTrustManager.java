package io.isthmus.trust.tls;

import java.security.cert.X509Certificate;
import java.util.Arrays;


import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509SvidVerifier;

/**
 * Authenticates TLS peers by their X.509-SVID with {@link X509SvidVerifier}, then checks the ID against a
 * {@link PeerPolicy}. Host names play no part: being a {@link ChainCheckingTrustManager}, it replaces the JDK's
 * endpoint identification, which is what SPIFFE authentication requires.
 */
public final class SpiffeTrustManager extends ChainCheckingTrustManager {

    private final X509SvidVerifier verifier;
    private final PeerPolicy policy;

    public SpiffeTrustManager(X509SvidVerifier verifier, PeerPolicy policy) {
        this.verifier = verifier;
        this.policy = policy;
    }

    /** Verifies {@code chain}; on success returns quietly, otherwise throws with the typed reason. */
    @Override
    public void check(X509Certificate[] chain) throws SvidCertificateException {
        SvidVerdict verdict = verifier.verify(chain == null ? null : Arrays.asList(chain));
        if (verdict instanceof SvidVerdict.Rejected rejected) {
            throw new SvidCertificateException(rejected.reason(), rejected.message());
        }
        SvidVerdict.Verified verified = (SvidVerdict.Verified) verdict;
        String expected = policy.check(verified.id());
        if (expected != null) {
            throw new SvidCertificateException(SvidRejection.UNEXPECTED_ID,
                    "peer " + verified.id() + " is not " + expected);
        }
    }
}
