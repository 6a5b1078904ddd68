package io.isthmus.gateway.cli;

import java.util.Optional;

import picocli.CommandLine.Option;

/**
 * The request part of a hypothetical call, shared by {@code authz check}, {@code authz explain} and {@code check
 * --from/--to}: destination port, and for HTTP the method and path (both or neither; neither means TCP).
 */
final class RequestOptions {
    @Option(names = "--port", defaultValue = "80", description = "Destination port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--method", description = "HTTP method; omit with --path for TCP traffic.")
    String method;

    @Option(names = "--path", description = "HTTP path as the caller sends it (before normalization).")
    String path;

    boolean http() {
        return method != null;
    }

    /** What is wrong with the combination given, for stderr and exit 2. */
    Optional<String> usageError() {
        return (method == null) != (path == null)
                ? Optional.of("--method and --path go together (omit both for TCP)") : Optional.empty();
    }
}
