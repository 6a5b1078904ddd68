package io.isthmus.gateway.enrolment;

/** The outcome of presenting a join token: the token after this use, or exactly why it was refused. */
public sealed interface TokenVerdict {

    /** The use was recorded; {@code token} is the stored state after it. */
    record Accepted(JoinToken token) implements TokenVerdict {
    }

    /** Nothing was recorded; {@code message} names the token id (never the secret). */
    record Rejected(TokenRejection reason, String message) implements TokenVerdict {
    }
}
