package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One authorization policy source ({@code file}, {@code kubernetes}) after its latest load.
 *
 * @param errors why the latest load refused something (empty when it applied cleanly); the previous policies of a
 *               refused file stay in force
 */
public record PolicySourceView(String source, int policies, Optional<Instant> lastSuccess,
        Optional<Instant> lastFailure, List<String> errors) {
    public PolicySourceView {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(lastSuccess, "lastSuccess");
        Objects.requireNonNull(lastFailure, "lastFailure");
        errors = List.copyOf(errors);
    }
}
