package io.isthmus.trust.status;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * What one gateway holds, as it reports it to its peers and operators: the federation roots it trusts, the bundle
 * (sequence and CA serials) it holds for every trust domain, its own signing intermediate and where its rotation
 * stands. A rotating peer reads this to check, not guess, that everyone holds its new CA before it activates it.
 */
public record TrustStatus(TrustDomain trustDomain, Instant at, List<RootInfo> roots,
        Map<TrustDomain, HeldBundle> bundles, AuthorityInfo intermediate, RotationSummary rotation) {

    public TrustStatus {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(at, "at");
        roots = List.copyOf(roots);
        bundles = Map.copyOf(new TreeMap<>(bundles));
        Objects.requireNonNull(intermediate, "intermediate");
        Objects.requireNonNull(rotation, "rotation");
    }

    /** One federation root: its SHA-256 fingerprint identifies it across gateways. */
    public record RootInfo(String sha256, String serial, String subject, Instant notAfter) {
        public RootInfo {
            Objects.requireNonNull(sha256, "sha256");
            Objects.requireNonNull(serial, "serial");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(notAfter, "notAfter");
        }

        public static RootInfo of(X509Certificate root) {
            return new RootInfo(fingerprint(root), Certificates.serialHex(root),
                    root.getSubjectX500Principal().getName(), root.getNotAfter().toInstant());
        }
    }

    /** The bundle this gateway holds for one trust domain, and the last refusal of a newer one, if any. */
    public record HeldBundle(long sequence, List<String> x509Serials, Optional<String> lastError) {
        public HeldBundle {
            x509Serials = List.copyOf(x509Serials);
            Objects.requireNonNull(lastError, "lastError");
        }

        public boolean holds(String serial) {
            return x509Serials.contains(serial);
        }
    }

    /** A CA certificate's identity and lifetime. */
    public record AuthorityInfo(String serial, Instant notBefore, Instant notAfter) {
        public AuthorityInfo {
            Objects.requireNonNull(serial, "serial");
            Objects.requireNonNull(notBefore, "notBefore");
            Objects.requireNonNull(notAfter, "notAfter");
        }

        public static AuthorityInfo of(X509Certificate ca) {
            return new AuthorityInfo(Certificates.serialHex(ca), ca.getNotBefore().toInstant(),
                    ca.getNotAfter().toInstant());
        }

        /** Fraction of the lifetime left at {@code now}: 1 when new, 0 when expired. */
        public double remainingFraction(Instant now) {
            long total = Duration.between(notBefore, notAfter).toMillis();
            long left = Duration.between(now, notAfter).toMillis();
            if (total <= 0) {
                return 0;
            }
            return Math.max(0, Math.min(1, (double) left / total));
        }
    }

    /** Where this gateway's rotation stands: {@code phase} is the last step done, {@code step} the one under way. */
    public record RotationSummary(String phase, String step, Optional<String> nextSerial, Optional<Instant> since) {
        public RotationSummary {
            Objects.requireNonNull(phase, "phase");
            Objects.requireNonNull(step, "step");
            Objects.requireNonNull(nextSerial, "nextSerial");
            Objects.requireNonNull(since, "since");
        }
    }

    public boolean holdsRoot(String sha256) {
        return roots.stream().anyMatch(r -> r.sha256().equals(sha256));
    }

    /** SHA-256 of the certificate's DER, lowercase hex without separators (as {@code openssl x509 -fingerprint}). */
    public static String fingerprint(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint " + Certificates.describe(cert), e);
        }
    }
}
