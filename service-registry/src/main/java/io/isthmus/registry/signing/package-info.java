/**
 * Registry entries and removals signed by the cluster that owns them, and the decision whether a site uses one: see
 * {@link io.isthmus.registry.signing.EntryVerifier}. The signing key is the owning gateway's X.509-SVID key; the leaf
 * travels with the entry and is judged against the owner's current bundle, not against its own expiry, so an entry
 * stays verifiable after the SVID that signed it rotated, and stops verifying the moment the owner's CA that issued
 * that SVID leaves the owner's bundle (revocation).
 */
package io.isthmus.registry.signing;
