package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.spiffe.SpiffeId;

/** Which workload IDs an agent may have signed: its own, or under its path, segment-wise, in its trust domain. */
class AgentSubjectsTest {
    private static final SpiffeId AGENT = SpiffeId.parse("spiffe://east.example/ns/shop/sa/db-1");

    static Stream<Arguments> rows() {
        return Stream.of(
                // Allowed: the agent itself and anything below it.
                Arguments.of("its own ID", "spiffe://east.example/ns/shop/sa/db-1", null),
                Arguments.of("a child", "spiffe://east.example/ns/shop/sa/db-1/billing", null),
                Arguments.of("a grandchild", "spiffe://east.example/ns/shop/sa/db-1/billing/batch", null),
                Arguments.of("a child with dots inside a segment", "spiffe://east.example/ns/shop/sa/db-1/a.b", null),
                // Attackers.
                Arguments.of("a sibling VM", "spiffe://east.example/ns/shop/sa/db-2", AgentSubjects.Reason.NOT_UNDER_AGENT),
                Arguments.of("a sibling VM's workload", "spiffe://east.example/ns/shop/sa/db-2/billing",
                        AgentSubjects.Reason.NOT_UNDER_AGENT),
                Arguments.of("a prefix trick", "spiffe://east.example/ns/shop/sa/db-1x", AgentSubjects.Reason.NOT_UNDER_AGENT),
                Arguments.of("a prefix trick with a child", "spiffe://east.example/ns/shop/sa/db-1x/billing",
                        AgentSubjects.Reason.NOT_UNDER_AGENT),
                Arguments.of("the parent", "spiffe://east.example/ns/shop/sa", AgentSubjects.Reason.NOT_UNDER_AGENT),
                Arguments.of("the gateway", "spiffe://east.example/ns/isthmus-system/sa/isthmus-gateway",
                        AgentSubjects.Reason.NOT_UNDER_AGENT),
                Arguments.of("another trust domain, same path", "spiffe://west.example/ns/shop/sa/db-1/billing",
                        AgentSubjects.Reason.OTHER_TRUST_DOMAIN),
                Arguments.of("a trust domain with the agent's as prefix", "spiffe://east.example.evil/ns/shop/sa/db-1",
                        AgentSubjects.Reason.OTHER_TRUST_DOMAIN),
                Arguments.of("dot-dot out of the path", "spiffe://east.example/ns/shop/sa/db-1/../db-2",
                        AgentSubjects.Reason.MALFORMED),
                Arguments.of("a dot segment", "spiffe://east.example/ns/shop/sa/db-1/./x", AgentSubjects.Reason.MALFORMED),
                Arguments.of("percent-encoded slash", "spiffe://east.example/ns/shop/sa/db-1%2F..%2Fdb-2",
                        AgentSubjects.Reason.MALFORMED),
                Arguments.of("percent-encoded character", "spiffe://east.example/ns/shop/sa/db-%31/x",
                        AgentSubjects.Reason.MALFORMED),
                Arguments.of("a trailing slash", "spiffe://east.example/ns/shop/sa/db-1/", AgentSubjects.Reason.MALFORMED),
                Arguments.of("an empty segment", "spiffe://east.example/ns/shop/sa/db-1//x", AgentSubjects.Reason.MALFORMED),
                Arguments.of("the trust domain alone", "spiffe://east.example", AgentSubjects.Reason.MALFORMED),
                Arguments.of("uppercase scheme", "SPIFFE://east.example/ns/shop/sa/db-1/x", AgentSubjects.Reason.MALFORMED),
                Arguments.of("missing", null, AgentSubjects.Reason.MALFORMED));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("rows")
    void decides(String name, String requested, AgentSubjects.Reason expected) {
        AgentSubjects.Verdict v = AgentSubjects.mayIssue(AGENT, requested);
        if (expected == null) {
            assertThat(v).isEqualTo(new AgentSubjects.Allowed(SpiffeId.parse(requested)));
        } else {
            assertThat(v).isInstanceOfSatisfying(AgentSubjects.Denied.class, d -> {
                assertThat(d.reason()).isEqualTo(expected);
                assertThat(d.message()).contains(requested == null ? "missing" : requested);
            });
        }
    }
}
