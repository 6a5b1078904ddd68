package io.isthmus.proxy.authz.policy;

import java.util.Objects;

/**
 * One reason a policy document is invalid: the field path ({@code spec.rules[0].to[0].operation.methods[1]}) and
 * what is wrong with the value there.
 */
public record PolicyViolation(String path, String message) {
    public PolicyViolation {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return path + ": " + message;
    }
}
