package io.isthmus.trust.spiffe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The "under the VM's path" rule ({@link SpiffeId#isSelfOrUnder}) that both the gateway's enrolment (which IDs an
 * agent may have signed) and the agent's registration entries apply. A row whose candidate is {@code REFUSED} is text
 * that never becomes a {@code SpiffeId}, so it can never reach the rule: the tricks an attacker would try with it.
 */
class SpiffeIdUnderTest {

    @ParameterizedTest(name = "{0}: {2} under {1} -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            the base itself                  | spiffe://td.example/vm/web | spiffe://td.example/vm/web               | true
            a child                          | spiffe://td.example/vm/web | spiffe://td.example/vm/web/billing       | true
            a grandchild                     | spiffe://td.example/vm/web | spiffe://td.example/vm/web/billing/batch | true
            a child with dots in a segment   | spiffe://td.example/vm/web | spiffe://td.example/vm/web/a.b..c        | true
            prefix without a slash boundary  | spiffe://td.example/vm/web | spiffe://td.example/vm/web2              | false
            the same trick with a child      | spiffe://td.example/vm/web | spiffe://td.example/vm/web2/billing      | false
            a dash after the prefix          | spiffe://td.example/vm/web | spiffe://td.example/vm/web-admin         | false
            the parent                       | spiffe://td.example/vm/web | spiffe://td.example/vm                   | false
            a sibling                        | spiffe://td.example/vm/web | spiffe://td.example/vm/db                | false
            the trust domain's own ID        | spiffe://td.example/vm/web | spiffe://td.example                      | false
            other trust domain, same path    | spiffe://td.example/vm/web | spiffe://other.example/vm/web            | false
            other trust domain, child path   | spiffe://td.example/vm/web | spiffe://other.example/vm/web/billing    | false
            a look-alike trust domain        | spiffe://td.example/vm/web | spiffe://td.example.evil/vm/web/billing  | false
            a trust-domain base: itself      | spiffe://td.example        | spiffe://td.example                      | true
            a trust-domain base claims none  | spiffe://td.example        | spiffe://td.example/vm/web               | false
            trailing slash                   | spiffe://td.example/vm/web | spiffe://td.example/vm/web/              | REFUSED
            dot-dot out of the path          | spiffe://td.example/vm/web | spiffe://td.example/vm/web/../db         | REFUSED
            a dot segment                    | spiffe://td.example/vm/web | spiffe://td.example/vm/web/./x           | REFUSED
            percent-encoded slash            | spiffe://td.example/vm/web | spiffe://td.example/vm/web%2F..%2Fdb     | REFUSED
            percent-encoded letter           | spiffe://td.example/vm/web | spiffe://td.example/vm/w%65b/x           | REFUSED
            an empty segment                 | spiffe://td.example/vm/web | spiffe://td.example/vm/web//x            | REFUSED
            uppercase trust domain           | spiffe://td.example/vm/web | spiffe://TD.example/vm/web/x             | REFUSED
            """)
    void decidesSegmentWiseInOneTrustDomain(String row, String base, String candidate, String expected) {
        SpiffeId b = SpiffeId.parse(base);
        if (expected.equals("REFUSED")) {
            assertThatThrownBy(() -> SpiffeId.parse(candidate)).as(row).isInstanceOf(InvalidSpiffeIdException.class);
            return;
        }
        assertThat(SpiffeId.parse(candidate).isSelfOrUnder(b)).as(row).isEqualTo(Boolean.parseBoolean(expected));
    }
}
