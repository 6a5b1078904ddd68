package io.isthmus.trust.rotation;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.InvalidAuthorityException;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * The rule for taking a signed intermediate into a rotation: it is a CA of this cluster's trust domain
 * (name-constrained to it), signed by a federation root this gateway holds, valid now, and over exactly the key the
 * cluster prepared. A chain may end with the root; any other extra certificate is refused. Pure; thread-safe.
 */
public final class CandidateIntermediate {

    /** The outcome: the chain to use (the intermediate, roots removed), or why not. */
    public sealed interface Verdict {
        record Accepted(List<X509Certificate> chain) implements Verdict {
        }

        record Refused(RotationRefusal refusal, String message) implements Verdict {
        }
    }

    private CandidateIntermediate() {
    }

    /**
     * @param presented the certificates submitted, intermediate first
     * @param preparedKey the public key of the key this cluster generated at {@code prepare}
     */
    public static Verdict check(List<X509Certificate> presented, PublicKey preparedKey, TrustDomain td,
            AuthorityValidator authorities, FederationRoots roots, Instant now) {
        if (presented.isEmpty()) {
            return new Verdict.Refused(RotationRefusal.MALFORMED, "the submitted chain holds no certificate; send the "
                    + "intermediate signed by the root (PEM), optionally followed by the root");
        }
        X509Certificate intermediate = presented.get(0);
        List<X509Certificate> chain = new ArrayList<>(List.of(intermediate));
        for (X509Certificate extra : presented.subList(1, presented.size())) {
            if (!roots.certificates().contains(extra)) {
                return new Verdict.Refused(RotationRefusal.MALFORMED, "the submitted chain holds "
                        + Certificates.describe(extra) + " after the intermediate " + Certificates.describe(intermediate)
                        + ", which is not a federation root this gateway holds; send the intermediate alone (or "
                        + "followed by its root)");
            }
        }
        try {
            authorities.validate(intermediate, td, now);
        } catch (InvalidAuthorityException e) {
            return new Verdict.Refused(refusalOf(e), "intermediate " + e.getMessage() + "; expected a CA for " + td
                    + " signed by one of the federation roots " + roots.certificates().stream()
                            .map(Certificates::serialHex).toList() + " and valid now");
        }
        if (!Arrays.equals(intermediate.getPublicKey().getEncoded(), preparedKey.getEncoded())) {
            return new Verdict.Refused(RotationRefusal.KEY_MISMATCH, "intermediate " + Certificates.describe(intermediate)
                    + " certifies another key than the one this cluster prepared; sign the CSR written by 'prepare' "
                    + "(isthmus ca sign-csr), not another request");
        }
        return new Verdict.Accepted(List.copyOf(chain));
    }

    static RotationRefusal refusalOf(InvalidAuthorityException e) {
        return switch (e.error()) {
            case NOT_CA, NO_KEY_CERT_SIGN -> RotationRefusal.NOT_A_CA;
            case NOT_FROM_FEDERATION_ROOT -> RotationRefusal.NOT_UNDER_A_ROOT;
            case ROOT_EXPIRED -> RotationRefusal.ROOT_EXPIRED;
            case NO_NAME_CONSTRAINTS -> RotationRefusal.NO_NAME_CONSTRAINTS;
            case WRONG_NAME_CONSTRAINTS -> RotationRefusal.WRONG_TRUST_DOMAIN;
            case EXPIRED -> RotationRefusal.EXPIRED;
            case NOT_YET_VALID -> RotationRefusal.NOT_YET_VALID;
        };
    }
}
