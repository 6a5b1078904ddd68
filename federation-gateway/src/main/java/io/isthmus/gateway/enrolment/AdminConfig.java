package io.isthmus.gateway.enrolment;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;

/**
 * Who may call the admin API, prefix {@code isthmus.admin}. There is no anonymous admin: with neither key set,
 * every admin call is refused.
 */
@ConfigMapping(prefix = "isthmus.admin")
public interface AdminConfig {

    /**
     * File holding the bootstrap admin token (one line, at least 32 characters). Presented as
     * {@code Authorization: Bearer <token>}; compared in constant time. Re-read on every call, so it can be rotated.
     */
    @WithName("bootstrap-token-file")
    Optional<Path> bootstrapTokenFile();

    /** SPIFFE IDs whose SVID (presented by mutual TLS) is an admin credential. */
    @WithName("spiffe-ids")
    Optional<List<String>> spiffeIds();
}
