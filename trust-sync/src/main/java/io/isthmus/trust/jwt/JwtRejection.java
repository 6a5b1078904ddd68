package io.isthmus.trust.jwt;

import java.util.Locale;

/**
 * Why a JWT-SVID was not accepted (SPIFFE JWT-SVID spec, sections 2 and 3, and RFC 7515/7519). Stable names: they
 * appear in gRPC error messages and logs.
 */
public enum JwtRejection {
    /** Not three base64url parts, a part that is not a JSON object, or duplicate members. */
    MALFORMED,
    /** {@code alg} missing, {@code none}, an HMAC algorithm or one the spec does not list. */
    UNSUPPORTED_ALGORITHM,
    /** The header has no {@code kid}: the spec requires it to pick the key from the bundle. */
    MISSING_KEY_ID,
    /** {@code typ} is present and not {@code JWT} or {@code JOSE}. */
    BAD_TYPE,
    /** A {@code crit} header names extensions this validator does not understand. */
    CRITICAL_HEADER,
    /** {@code sub} is missing or not a SPIFFE ID of a workload. */
    BAD_SUBJECT,
    /** {@code aud} is missing or empty. */
    MISSING_AUDIENCE,
    /** {@code aud} does not contain the audience the validator expects. */
    AUDIENCE_MISMATCH,
    /** {@code exp} is missing or not a number. */
    MISSING_EXPIRY,
    EXPIRED,
    /** {@code nbf} lies in the future. */
    NOT_YET_VALID,
    /** No bundle is held for the subject's trust domain. */
    NO_BUNDLE_FOR_TRUST_DOMAIN,
    /** The subject's trust domain's bundle has no JWT authority with this {@code kid}. */
    UNKNOWN_KEY_ID,
    /** The key named by {@code kid} cannot verify this {@code alg} (e.g. an RSA key for ES256). */
    KEY_ALGORITHM_MISMATCH,
    BAD_SIGNATURE;

    /** Lowercase with dashes: {@code unknown-key-id}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
