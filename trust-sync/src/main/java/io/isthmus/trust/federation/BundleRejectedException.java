package io.isthmus.trust.federation;

import io.isthmus.trust.text.Printable;

/**
 * A peer bundle (or the attempt to fetch one) failed; {@link #reason()} says why. Nothing was applied. The message
 * quotes what the peer sent (a field, or the JDK's HTTP client quoting a status line or header it could not parse), so
 * it is kept {@link Printable#escape escaped}: it becomes the peer's {@code lastError} and a WARN line.
 */
public final class BundleRejectedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final BundleRejection reason;

    public BundleRejectedException(BundleRejection reason, String message) {
        super(Printable.escape(message));
        this.reason = reason;
    }

    public BundleRejectedException(BundleRejection reason, String message, Throwable cause) {
        super(Printable.escape(message), cause);
        this.reason = reason;
    }

    public BundleRejection reason() {
        return reason;
    }
}
