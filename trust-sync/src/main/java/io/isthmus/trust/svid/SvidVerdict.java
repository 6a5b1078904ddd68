package io.isthmus.trust.svid;

import java.security.cert.X509Certificate;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.text.Printable;

/** The outcome of verifying an X.509-SVID: who it proves, or exactly why it proves nothing. */
public sealed interface SvidVerdict {

    /** The chain proves {@code id}; {@code signer} is the bundle authority that signed the leaf. */
    record Verified(SpiffeId id, X509Certificate leaf, X509Certificate signer, long bundleSequence) implements SvidVerdict {
    }

    /** Not accepted; {@code message} is for operators ("intermediate serial … is not in the bundle of …"). */
    /**
     * {@code message} quotes what the presenter chose (URI SANs, subject, a parser's message) and is logged and
     * answered, so it is kept {@linkplain Printable#escape escaped}: anyone reaching a listener presents any certificate.
     */
    record Rejected(SvidRejection reason, String message) implements SvidVerdict {
        public Rejected {
            message = Printable.escape(message);
        }
    }

    default boolean verified() {
        return this instanceof Verified;
    }
}
