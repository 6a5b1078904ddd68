package io.isthmus.trust.membership;

/** A membership document broke a rule; {@link #reason()} says which, the message quotes the input. */
public final class InvalidMembershipException extends IllegalArgumentException {
    private final MembershipRefusal reason;

    public InvalidMembershipException(MembershipRefusal reason, String message) {
        super(message);
        this.reason = reason;
    }

    public MembershipRefusal reason() {
        return reason;
    }
}
