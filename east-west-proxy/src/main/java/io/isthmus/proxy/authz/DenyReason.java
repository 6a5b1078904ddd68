package io.isthmus.proxy.authz;

import java.util.Locale;
import java.util.Optional;

/** Stable reason codes of a denial: in the 403 body, metric labels and the audit log. */
public enum DenyReason {
    /** No ALLOW rule matched: federated traffic is denied by default. */
    NO_MATCHING_ALLOW,
    /** A DENY rule matched (DENY wins over ALLOW). */
    EXPLICIT_DENY,
    /** The peer gateway vouched for nobody (no caller identity header): refused before any policy. */
    MISSING_CALLER_IDENTITY,
    /** The peer gateway's caller identity is not a SPIFFE ID: refused before any policy. */
    INVALID_CALLER_IDENTITY,
    /** The peer gateway vouched for an identity outside its own trust domain: refused before any policy. */
    CALLER_OUTSIDE_PEER_TRUST_DOMAIN,
    /** A peer that is not a gateway of its trust domain (a VM, a workload) asserted a caller: refused before any policy. */
    VOUCHING_BY_NON_GATEWAY;

    /** Whether this refusal is made before any policy is asked (who the caller is), not by a policy. */
    public boolean beforePolicy() {
        return this != NO_MATCHING_ALLOW && this != EXPLICIT_DENY;
    }

    /** The reason with this {@link #code()}, if any. */
    public static Optional<DenyReason> ofCode(String code) {
        for (DenyReason r : values()) {
            if (r.code().equals(code)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** {@code no-matching-allow}, {@code explicit-deny}. */
    public String code() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
