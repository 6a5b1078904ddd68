package io.isthmus.trust.bundle;

import java.util.List;

/**
 * A bundle read from a document, with what the reader skipped as the SPIFFE spec requires (unknown {@code use}
 * or {@code kty}, x509-svid entries without {@code x5c}): each warning names the element.
 */
public record ParsedBundle(TrustBundle bundle, List<String> warnings) {
    public ParsedBundle {
        warnings = List.copyOf(warnings);
    }
}
