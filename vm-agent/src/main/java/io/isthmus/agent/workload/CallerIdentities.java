package io.isthmus.agent.workload;

import java.util.Collections;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

import io.grpc.Context;
import io.isthmus.trust.attest.Selector;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The seam for every Workload API method: the SPIFFE IDs the current call may act as, sorted. Set by
 * {@link AttestationInterceptor} before any method runs; a method never sees the empty set (the interceptor answers
 * PERMISSION_DENIED first). With attestation off it is the VM's own ID. Read on the gRPC call's thread.
 */
public final class CallerIdentities {
    static final Context.Key<SortedSet<SpiffeId>> KEY = Context.key("isthmus.workload.identities");
    /** The caller's selectors; absent with attestation off. */
    static final Context.Key<Set<Selector>> SELECTORS = Context.key("isthmus.workload.selectors");

    private CallerIdentities() {
    }

    /** The IDs of the current call; empty outside a Workload API call. */
    public static SortedSet<SpiffeId> current() {
        SortedSet<SpiffeId> ids = KEY.get();
        return ids == null ? Collections.emptySortedSet() : Collections.unmodifiableSortedSet(new TreeSet<>(ids));
    }

    /** The selectors the current call's caller showed; empty with attestation off (or outside a call). */
    static Optional<Set<Selector>> selectors() {
        return Optional.ofNullable(SELECTORS.get());
    }
}
