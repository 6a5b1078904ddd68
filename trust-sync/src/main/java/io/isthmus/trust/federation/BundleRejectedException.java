package io.isthmus.trust.federation;

/** A peer bundle (or the attempt to fetch one) failed; {@link #reason()} says why. Nothing was applied. */
public final class BundleRejectedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final BundleRejection reason;

    public BundleRejectedException(BundleRejection reason, String message) {
        super(message);
        this.reason = reason;
    }

    public BundleRejectedException(BundleRejection reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public BundleRejection reason() {
        return reason;
    }
}
