package io.isthmus.proxy.authn;

import java.util.Objects;

import io.isthmus.trust.spiffe.SpiffeId;

/** Who a local caller is, or why we could not tell. */
public sealed interface AuthnResult {
    record Authenticated(SpiffeId id) implements AuthnResult {
        public Authenticated {
            Objects.requireNonNull(id, "id");
        }
    }

    record Refused(AuthnFailure reason, String detail) implements AuthnResult {
        public Refused {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }
    }
}
