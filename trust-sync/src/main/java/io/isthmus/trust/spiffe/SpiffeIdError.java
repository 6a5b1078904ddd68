package io.isthmus.trust.spiffe;

/**
 * One constant per rule of the SPIFFE ID specification (SPIFFE-ID.md, sections 2 to 2.3) that an input can
 * break. The text says what was expected; {@link InvalidSpiffeIdException} adds the offending input.
 */
public enum SpiffeIdError {
    EMPTY("is empty"),
    TOO_LONG("is longer than 2048 bytes"),
    WRONG_SCHEME("must start with the scheme 'spiffe://' (lowercase)"),
    MISSING_TRUST_DOMAIN("has no trust domain after 'spiffe://'"),
    TRUST_DOMAIN_TOO_LONG("has a trust domain longer than 255 bytes"),
    TRUST_DOMAIN_UPPERCASE("has uppercase letters in the trust domain; trust domains are lowercase"),
    TRUST_DOMAIN_CHARACTER("has a trust domain character outside [a-z0-9.-_]"),
    USER_INFO("has user info ('@') in the authority; a SPIFFE ID has none"),
    PORT("has a port (':') in the authority; a SPIFFE ID has none"),
    QUERY("has a query ('?'); a SPIFFE ID has none"),
    FRAGMENT("has a fragment ('#'); a SPIFFE ID has none"),
    PERCENT_ENCODED("has a percent-encoded character; SPIFFE IDs must not be percent-encoded"),
    EMPTY_SEGMENT("has an empty path segment ('//')"),
    DOT_SEGMENT("has a '.' or '..' path segment"),
    TRAILING_SLASH("has a trailing '/'"),
    PATH_CHARACTER("has a path character outside [a-zA-Z0-9.-_]"),
    NOT_A_TRUST_DOMAIN("is a SPIFFE ID with a path where a bare trust domain was expected"),
    ROOT_PATH_REQUIRED("has no path; a workload SPIFFE ID needs a path such as /ns/<namespace>/sa/<account>");

    private final String rule;

    SpiffeIdError(String rule) {
        this.rule = rule;
    }

    /** What the input did wrong, phrased to follow "SPIFFE ID '…' ". */
    public String rule() {
        return rule;
    }
}
