package io.isthmus.proxy.authz.policy;

/** What a matching policy does. DENY is evaluated first, then ALLOW; AUDIT never changes a decision. */
public enum PolicyAction {
    /** The request is allowed if it matches; once any ALLOW policy applies to a service, only matches get through. */
    ALLOW,
    /** A matching request is denied, whatever ALLOW policies say. */
    DENY,
    /** A match is recorded in the audit log (what the rule would decide); the decision is not changed. */
    AUDIT
}
