package io.isthmus.proxy.authz;

import java.util.Locale;

/** Stable reason codes of a denial: in the 403 body, metric labels and the audit log. */
public enum DenyReason {
    /** No ALLOW rule matched: federated traffic is denied by default. */
    NO_MATCHING_ALLOW,
    /** A DENY rule matched (DENY wins over ALLOW). */
    EXPLICIT_DENY;

    /** {@code no-matching-allow}, {@code explicit-deny}. */
    public String code() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
