package io.isthmus.trust.rotation;

/** A rotation step was refused; {@link #refusal()} says why. The trust state is unchanged. */
public final class RotationException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    private final RotationRefusal refusal;

    public RotationException(RotationRefusal refusal, String message) {
        super(message);
        this.refusal = refusal;
    }

    public RotationRefusal refusal() {
        return refusal;
    }
}
