package io.isthmus.proxy.authn;

import java.util.Locale;

/** Why a local caller was not authenticated. Stable codes for the 401 body, metrics and audit log. */
public enum AuthnFailure {
    NO_CREDENTIAL,
    INVALID_SVID,
    SVID_OUTSIDE_LOCAL_TRUST_DOMAIN,
    TOKEN_REJECTED,
    TOKEN_NOT_A_SERVICE_ACCOUNT,
    TOKEN_REVIEW_UNAVAILABLE;

    public String code() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
