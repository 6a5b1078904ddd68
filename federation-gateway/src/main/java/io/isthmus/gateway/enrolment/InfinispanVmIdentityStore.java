package io.isthmus.gateway.enrolment;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

import org.infinispan.Cache;

import io.isthmus.trust.spiffe.SpiffeId;

/** VM identities in a replicated (REPL_SYNC) cache of JSON strings keyed by SPIFFE ID. Revocation always wins. */
public final class InfinispanVmIdentityStore implements VmIdentityStore {
    static final String CACHE = "isthmus-vm-identities";

    private final Cache<String, String> cache;

    public InfinispanVmIdentityStore(Cache<String, String> cache) {
        this.cache = cache;
    }

    @Override
    public void enrolled(SpiffeId id, Instant at) {
        update(id, current -> {
            if (current != null && current.revoked()) {
                return current;
            }
            return new VmIdentity(id, VmIdentity.State.ACTIVE, Optional.of(at), Optional.empty(), Optional.empty());
        });
    }

    @Override
    public Optional<VmIdentity> find(SpiffeId id) {
        return Optional.ofNullable(cache.get(id.toString())).map(EnrolmentJson::readIdentity);
    }

    @Override
    public VmIdentity revoke(SpiffeId id, String reason, Instant at) {
        return update(id, current -> new VmIdentity(id, VmIdentity.State.REVOKED,
                current == null ? Optional.empty() : current.enrolledAt(), Optional.of(at), Optional.ofNullable(reason)));
    }

    /**
     * Compare-and-set loop: Infinispan's compute() would ship the lambda to the key owner, which needs a marshaller
     * for everything it captures; conditional writes of strings need none.
     */
    private VmIdentity update(SpiffeId id, UnaryOperator<VmIdentity> change) {
        String key = id.toString();
        for (int attempt = 0; attempt < 32; attempt++) {
            String current = cache.get(key);
            VmIdentity next = change.apply(current == null ? null : EnrolmentJson.readIdentity(current));
            String json = EnrolmentJson.write(next);
            if (json.equals(current)) {
                return next;
            }
            boolean written = current == null ? cache.putIfAbsent(key, json) == null : cache.replace(key, current, json);
            if (written) {
                return next;
            }
        }
        throw new IllegalStateException("VM identity " + id + " is contended; gave up updating it");
    }

    @Override
    public List<VmIdentity> list() {
        List<VmIdentity> all = new ArrayList<>();
        cache.values().forEach(v -> all.add(EnrolmentJson.readIdentity(v)));
        all.sort(Comparator.comparing(VmIdentity::id));
        return all;
    }
}
