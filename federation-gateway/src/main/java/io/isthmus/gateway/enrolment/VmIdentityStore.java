package io.isthmus.gateway.enrolment;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The VM identities this cluster enrolled and the ones it revoked, shared by every gateway replica. A renewal is
 * allowed only for an identity that is {@link VmIdentity.State#ACTIVE}. Thread-safe; a {@link RuntimeException}
 * means the store is unavailable and the caller must refuse.
 */
public interface VmIdentityStore {

    /** Records an enrolment (a revoked identity stays revoked: enrolment checks {@link #find} first). */
    void enrolled(SpiffeId id, Instant at);

    Optional<VmIdentity> find(SpiffeId id);

    /** Revokes {@code id}, enrolled or not (so a token made later for it cannot bring it back). */
    VmIdentity revoke(SpiffeId id, String reason, Instant at);

    List<VmIdentity> list();
}
