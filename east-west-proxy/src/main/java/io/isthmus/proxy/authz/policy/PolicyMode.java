package io.isthmus.proxy.authz.policy;

/**
 * How the policies of a scope (a service, a namespace, or the mesh) are applied, set by a mode policy
 * ({@code spec.mode}) or the gateway's {@code isthmus.authz.observe} key. The most specific setting wins; see
 * {@link PolicySet}.
 */
public enum PolicyMode {
    /** The policies decide (the default). */
    ENFORCE,
    /**
     * Every request is allowed and logged with the decision the policies in force would have made, so that a team
     * can see who calls what before default deny bites. Refusals before policy (who may vouch) still apply.
     */
    OBSERVE
}
