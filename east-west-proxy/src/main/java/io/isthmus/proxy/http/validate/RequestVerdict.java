package io.isthmus.proxy.http.validate;

import java.util.Objects;

/** What {@link RequestValidator} made of a request's head. */
public sealed interface RequestVerdict {
    /** Unambiguous: it may be served. */
    RequestVerdict VALID = new Valid();

    record Valid() implements RequestVerdict {
    }

    /** {@code detail} quotes the offending part (escaped) and says what is expected. */
    record Invalid(RequestRefusal reason, String detail) implements RequestVerdict {
        public Invalid {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }
    }
}
