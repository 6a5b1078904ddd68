package io.isthmus.proxy.authz.suggest;

import java.util.Comparator;
import java.util.Objects;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Who a suggested rule lets in: one SPIFFE ID, every identity of one namespace of one trust domain (the principal
 * prefix {@code spiffe://<td>/ns/<ns>/*}), or a whole trust domain ({@code trustDomains: [<td>]}). Ordered by trust
 * domain, then exact IDs before namespace wildcards before the trust domain, then by text.
 */
public sealed interface PrincipalKey extends Comparable<PrincipalKey> {
    Comparator<PrincipalKey> ORDER = Comparator.comparing((PrincipalKey k) -> k.trustDomain().name())
            .thenComparingInt(PrincipalKey::rank).thenComparing(PrincipalKey::pattern);

    TrustDomain trustDomain();

    /** As the policy writes it: a principal, a principal prefix, or a trust domain. */
    String pattern();

    int rank();

    @Override
    default int compareTo(PrincipalKey o) {
        return ORDER.compare(this, o);
    }

    record Exact(SpiffeId id) implements PrincipalKey {
        public Exact {
            Objects.requireNonNull(id, "id");
        }

        @Override
        public TrustDomain trustDomain() {
            return id.trustDomain();
        }

        @Override
        public String pattern() {
            return id.toString();
        }

        @Override
        public int rank() {
            return 0;
        }
    }

    record Namespace(TrustDomain trustDomain, String namespace) implements PrincipalKey {
        public Namespace {
            Objects.requireNonNull(trustDomain, "trustDomain");
            Objects.requireNonNull(namespace, "namespace");
        }

        @Override
        public String pattern() {
            return "spiffe://" + trustDomain.name() + "/ns/" + namespace + "/*";
        }

        @Override
        public int rank() {
            return 1;
        }
    }

    record Domain(TrustDomain trustDomain) implements PrincipalKey {
        public Domain {
            Objects.requireNonNull(trustDomain, "trustDomain");
        }

        @Override
        public String pattern() {
            return trustDomain.name();
        }

        @Override
        public int rank() {
            return 2;
        }
    }
}
