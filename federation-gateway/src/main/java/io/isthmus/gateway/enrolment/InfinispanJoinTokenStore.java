package io.isthmus.gateway.enrolment;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.infinispan.Cache;

/**
 * Join tokens in a replicated (REPL_SYNC) cache of JSON strings keyed by token id. {@link #consume} is a
 * compare-and-set loop over {@link Cache#replace(Object, Object, Object)}: a conditional write executes on the key's
 * primary owner under its lock, so two replicas racing on the last use of a token cannot both win.
 */
public final class InfinispanJoinTokenStore implements JoinTokenStore {
    static final String CACHE = "isthmus-join-tokens";
    private static final int MAX_ATTEMPTS = 32;

    private final Cache<String, String> cache;

    public InfinispanJoinTokenStore(Cache<String, String> cache) {
        this.cache = cache;
    }

    @Override
    public void create(JoinToken token) {
        String previous = cache.putIfAbsent(token.id(), EnrolmentJson.write(token));
        if (previous != null) {
            throw new IllegalStateException("join token id " + token.id() + " already exists");
        }
    }

    @Override
    public Optional<JoinToken> find(String id) {
        return Optional.ofNullable(cache.get(id)).map(EnrolmentJson::readToken);
    }

    @Override
    public TokenVerdict consume(String id, String secret, Instant now) {
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            String current = cache.get(id);
            JoinToken stored = current == null ? null : EnrolmentJson.readToken(current);
            TokenVerdict.Rejected rejected = JoinTokenPolicy.check(id, stored, secret, now);
            if (rejected != null) {
                return rejected;
            }
            JoinToken used = stored.withUse();
            if (cache.replace(id, current, EnrolmentJson.write(used))) {
                return new TokenVerdict.Accepted(used);
            }
            // Another replica or thread changed the token between our read and write: read again and re-check.
        }
        throw new IllegalStateException("join token " + id + " is contended; gave up after " + MAX_ATTEMPTS + " attempts");
    }

    @Override
    public Optional<JoinToken> revoke(String id) {
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            String current = cache.get(id);
            if (current == null) {
                return Optional.empty();
            }
            JoinToken revoked = EnrolmentJson.readToken(current).withRevoked();
            if (cache.replace(id, current, EnrolmentJson.write(revoked))) {
                return Optional.of(revoked);
            }
        }
        throw new IllegalStateException("join token " + id + " is contended; gave up revoking it");
    }

    @Override
    public List<JoinToken> list() {
        List<JoinToken> all = new ArrayList<>();
        for (Map.Entry<String, String> e : cache.entrySet()) {
            all.add(EnrolmentJson.readToken(e.getValue()));
        }
        all.sort(Comparator.comparing(JoinToken::createdAt).thenComparing(JoinToken::id));
        return all;
    }

    @Override
    public boolean remove(JoinToken seen) {
        return cache.remove(seen.id(), EnrolmentJson.write(seen));
    }
}
