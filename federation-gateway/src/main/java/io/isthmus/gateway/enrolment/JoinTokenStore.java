package io.isthmus.gateway.enrolment;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where join tokens live, shared by every gateway replica of the cluster. Implementations must be thread-safe
 * and make {@link #consume} atomic cluster-wide: of any number of concurrent consumers of a token with one use
 * left, exactly one is {@link TokenVerdict.Accepted}. A {@link RuntimeException} from any method means the store
 * is unavailable (cluster partition, shutdown): callers refuse the request and may retry later.
 */
public interface JoinTokenStore {

    /** Stores a new token; fails if its id exists. */
    void create(JoinToken token);

    Optional<JoinToken> find(String id);

    /** Checks the presented secret with {@link JoinTokenPolicy} and, if it passes, records one use atomically. */
    TokenVerdict consume(String id, String secret, Instant now);

    /** Marks the token revoked; returns the revoked token, or empty when there is no such token. */
    Optional<JoinToken> revoke(String id);

    /** All tokens, including used, expired and revoked ones (they are kept until {@link JoinTokenPurge} removes them). */
    List<JoinToken> list();

    /**
     * Deletes the token if it is still stored exactly as {@code seen} (not used, revoked or replaced since it was
     * read); returns whether it did.
     */
    boolean remove(JoinToken seen);
}
