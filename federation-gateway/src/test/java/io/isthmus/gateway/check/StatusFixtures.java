package io.isthmus.gateway.check;

import io.isthmus.gateway.status.FederationStatus;

/** {@link StatusFixture} for tests of other packages. */
public final class StatusFixtures {
    private StatusFixtures() {
    }

    public static FederationStatus healthy() {
        return StatusFixture.healthy();
    }
}
