package io.isthmus.trust.spiffe;

/** The rules of SPIFFE-ID.md as small pure checks, shared by {@link SpiffeId} and {@link TrustDomain}. */
final class SpiffeIds {
    static final String PREFIX = "spiffe://";
    static final int MAX_LENGTH = 2048;

    private SpiffeIds() {
    }

    static SpiffeId parse(String text, boolean requirePath) {
        if (text == null || text.isEmpty()) {
            throw new InvalidSpiffeIdException(SpiffeIdError.EMPTY, text);
        }
        // Length counts bytes; only ASCII is legal, so a non-ASCII char would fail a character rule anyway,
        // but an over-long input must not be scanned further.
        if (text.length() > MAX_LENGTH) {
            throw new InvalidSpiffeIdException(SpiffeIdError.TOO_LONG, text);
        }
        if (!text.startsWith(PREFIX)) {
            throw new InvalidSpiffeIdException(SpiffeIdError.WRONG_SCHEME, text);
        }
        String rest = text.substring(PREFIX.length());
        int fragment = rest.indexOf('#');
        int query = rest.indexOf('?');
        if (query >= 0 && (fragment < 0 || query < fragment)) {
            throw new InvalidSpiffeIdException(SpiffeIdError.QUERY, text);
        }
        if (fragment >= 0) {
            throw new InvalidSpiffeIdException(SpiffeIdError.FRAGMENT, text);
        }
        int slash = rest.indexOf('/');
        String authority = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "" : rest.substring(slash);
        if (authority.isEmpty()) {
            throw new InvalidSpiffeIdException(SpiffeIdError.MISSING_TRUST_DOMAIN, text);
        }
        SpiffeIdError tdError = checkTrustDomain(authority);
        if (tdError != null) {
            throw new InvalidSpiffeIdException(tdError, text);
        }
        SpiffeIdError pathError = checkPath(path);
        if (pathError != null) {
            throw new InvalidSpiffeIdException(pathError, text);
        }
        if (requirePath && path.isEmpty()) {
            throw new InvalidSpiffeIdException(SpiffeIdError.ROOT_PATH_REQUIRED, text);
        }
        return new SpiffeId(new TrustDomain(authority), path);
    }

    /** @return the broken rule, or null when {@code td} is a valid trust domain name */
    static SpiffeIdError checkTrustDomain(String td) {
        if (td.isEmpty()) {
            return SpiffeIdError.MISSING_TRUST_DOMAIN;
        }
        if (td.indexOf('@') >= 0) {
            return SpiffeIdError.USER_INFO;
        }
        if (td.indexOf(':') >= 0) {
            return SpiffeIdError.PORT;
        }
        if (td.indexOf('%') >= 0) {
            return SpiffeIdError.PERCENT_ENCODED;
        }
        if (td.length() > TrustDomain.MAX_LENGTH) {
            return SpiffeIdError.TRUST_DOMAIN_TOO_LONG;
        }
        for (int i = 0; i < td.length(); i++) {
            char c = td.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                return SpiffeIdError.TRUST_DOMAIN_UPPERCASE;
            }
            if (!isTrustDomainChar(c)) {
                return SpiffeIdError.TRUST_DOMAIN_CHARACTER;
            }
        }
        return null;
    }

    /** @return the broken rule, or null when {@code path} is empty or a valid SPIFFE ID path */
    static SpiffeIdError checkPath(String path) {
        if (path.isEmpty()) {
            return null;
        }
        if (path.charAt(0) != '/') {
            return SpiffeIdError.PATH_CHARACTER;
        }
        int segmentStart = 1;
        for (int i = 1; i <= path.length(); i++) {
            if (i == path.length() || path.charAt(i) == '/') {
                int len = i - segmentStart;
                if (len == 0) {
                    return i == path.length() ? SpiffeIdError.TRAILING_SLASH : SpiffeIdError.EMPTY_SEGMENT;
                }
                if ((len == 1 && path.charAt(segmentStart) == '.')
                        || (len == 2 && path.charAt(segmentStart) == '.' && path.charAt(segmentStart + 1) == '.')) {
                    return SpiffeIdError.DOT_SEGMENT;
                }
                segmentStart = i + 1;
                continue;
            }
            char c = path.charAt(i);
            if (c == '%') {
                return SpiffeIdError.PERCENT_ENCODED;
            }
            if (c == '?') {
                return SpiffeIdError.QUERY;
            }
            if (c == '#') {
                return SpiffeIdError.FRAGMENT;
            }
            if (!isPathChar(c)) {
                return SpiffeIdError.PATH_CHARACTER;
            }
        }
        return null;
    }

    static boolean isTrustDomainChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    }

    static boolean isPathChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '-' || c == '_';
    }
}
