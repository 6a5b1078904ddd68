package io.isthmus.proxy.authz.policy;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.Decision;

/**
 * The {@link Authorizer} over the current {@link PolicySet}. A reload {@link #replace replaces} the whole set; a
 * decision reads the reference once, so it sees the old or the new set, never a mix. Thread-safe, non-blocking.
 */
public final class PolicyAuthorizer implements Authorizer {
    private final AtomicReference<PolicySet> current;

    public PolicyAuthorizer(PolicySet initial) {
        this.current = new AtomicReference<>(Objects.requireNonNull(initial, "initial"));
    }

    @Override
    public Decision authorize(AccessRequest request) {
        return current.get().decide(request);
    }

    public PolicySet current() {
        return current.get();
    }

    public void replace(PolicySet next) {
        current.set(Objects.requireNonNull(next, "next"));
    }
}
