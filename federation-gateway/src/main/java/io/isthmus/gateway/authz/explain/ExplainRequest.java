package io.isthmus.gateway.authz.explain;

import java.util.Objects;
import java.util.Optional;

import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * One hypothetical call to explain: who calls which mesh name on which port, and for HTTP the method and the path as
 * the caller would send it (before normalization). Method and path come together or not at all (TCP).
 */
public record ExplainRequest(SpiffeId caller, MeshName destination, int port, Optional<String> method,
        Optional<String> path) {

    public ExplainRequest {
        Objects.requireNonNull(caller, "caller");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(path, "path");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not in 1-65535");
        }
        if (method.isPresent() != path.isPresent()) {
            throw new IllegalArgumentException("method and path go together (give both for HTTP, neither for TCP)");
        }
    }

    /**
     * Parses the fields as a client sends them; a bad field is an {@link IllegalArgumentException} that quotes it and
     * says what was expected.
     */
    public static ExplainRequest parse(String caller, String to, Integer port, String method, String path,
            String meshSuffix) {
        if (caller == null || to == null) {
            throw new IllegalArgumentException("'caller' (a SPIFFE ID) and 'to' (a mesh name) are required");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(caller);
        } catch (InvalidSpiffeIdException e) {
            throw new IllegalArgumentException("caller '" + caller + "' is not a SPIFFE ID: " + e.getMessage());
        }
        String host = to.endsWith("." + meshSuffix) ? to : to + "." + meshSuffix;
        MeshName name = MeshName.parseHost(host, meshSuffix).orElseThrow(() -> new IllegalArgumentException(
                "to '" + to + "' is not <service>.<namespace>[." + meshSuffix + "]"));
        return new ExplainRequest(id, name, port == null ? 80 : port, Optional.ofNullable(method),
                Optional.ofNullable(path));
    }
}
