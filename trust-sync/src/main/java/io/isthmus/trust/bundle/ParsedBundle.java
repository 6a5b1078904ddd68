package io.isthmus.trust.bundle;

import java.util.List;

import io.isthmus.trust.text.Printable;

/**
 * A bundle read from a document, with what the reader skipped as the SPIFFE spec requires (unknown {@code use}
 * or {@code kty}, x509-svid entries without {@code x5c}): each warning names the element. Warnings quote the
 * publisher's strings and are logged, so they are kept {@linkplain Printable#escape escaped}.
 */
public record ParsedBundle(TrustBundle bundle, List<String> warnings) {
    public ParsedBundle {
        warnings = warnings.stream().map(Printable::escape).toList();
    }
}
