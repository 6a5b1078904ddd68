package io.isthmus.trust.jwt;

/** The outcome of validating a JWT-SVID: the SVID it proves, or exactly why it proves nothing. */
public sealed interface JwtVerdict {

    /** The token is a valid JWT-SVID for the expected audience, signed by {@code keyId} of its subject's domain. */
    record Valid(JwtSvid svid, String keyId) implements JwtVerdict {
    }

    /** Not accepted; {@code message} quotes what was wrong and what was expected. */
    record Invalid(JwtRejection reason, String message) implements JwtVerdict {
    }
}
