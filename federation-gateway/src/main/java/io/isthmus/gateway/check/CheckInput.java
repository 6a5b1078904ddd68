package io.isthmus.gateway.check;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.trust.bundle.TrustBundle;

/**
 * Everything the checks judge, gathered by {@code isthmus check} before any is run: the gateway's status report, the
 * certificate lifetimes its metrics state ({@code isthmus_cert_expiry_seconds}, by {@code kind}), what its bundle
 * endpoint served, and the federation roots to verify against.
 *
 * @param certExpiry  time left per certificate, as the gateway's metrics say, keyed {@code kind/serial} and, for the
 *                    shortest of a kind, {@code kind} (empty if it exposes none: the checks then read the
 *                    certificates in the status)
 * @param roots       the federation roots the checks verify chains against
 * @param rootsSource where {@code roots} came from, for the output ({@code --root-ca root.pem})
 * @param rootsGiven  whether the operator gave the roots (then they must match the gateway's), rather than taking
 *                    the gateway's word
 */
public record CheckInput(FederationStatus status, Map<String, Duration> certExpiry, OwnBundle ownBundle,
        List<X509Certificate> roots, String rootsSource, boolean rootsGiven, Thresholds thresholds) {

    public CheckInput {
        Objects.requireNonNull(status, "status");
        certExpiry = Map.copyOf(certExpiry);
        Objects.requireNonNull(ownBundle, "ownBundle");
        roots = List.copyOf(roots);
        Objects.requireNonNull(rootsSource, "rootsSource");
        Objects.requireNonNull(thresholds, "thresholds");
    }

    /** What the gateway's own bundle endpoint answered: the parsed bundle, or why there is none. */
    public record OwnBundle(String url, Optional<TrustBundle> bundle, Optional<String> error) {
        public OwnBundle {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(bundle, "bundle");
            Objects.requireNonNull(error, "error");
            if (bundle.isPresent() == error.isPresent()) {
                throw new IllegalArgumentException("a bundle endpoint answer is a bundle or an error, not both or neither");
            }
        }

        public static OwnBundle served(String url, TrustBundle bundle) {
            return new OwnBundle(url, Optional.of(bundle), Optional.empty());
        }

        public static OwnBundle failed(String url, String why) {
            return new OwnBundle(url, Optional.empty(), Optional.of(why));
        }
    }
}
