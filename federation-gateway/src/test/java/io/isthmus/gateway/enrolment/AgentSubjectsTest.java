package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.trust.spiffe.SpiffeId;

class AgentSubjectsTest {
    @ParameterizedTest(name = "{0} asks for {1}: {2}")
    @CsvSource({
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/shop/sa/vm, true",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/shop/sa/vm/web, true",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/shop/sa/vm/web/api, true",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/shop/sa/vmx, false",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/shop/sa/vmx/web, false",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/shop/sa, false",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/shop/sa/other, false",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://b.test/ns/shop/sa/vm, false",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://b.test/ns/shop/sa/vm/web, false",
            "spiffe://a.test/ns/shop/sa/vm, spiffe://a.test/ns/isthmus-system/sa/isthmus-gateway, false"
    })
    void agentsGetTheirOwnIdentityOrOneUnderIt(String agent, String requested, boolean allowed) {
        AgentSubjects.Verdict v = AgentSubjects.mayIssue(SpiffeId.parse(agent), SpiffeId.parse(requested));
        assertThat(v instanceof AgentSubjects.Verdict.Allowed).isEqualTo(allowed);
        if (v instanceof AgentSubjects.Verdict.Denied d) {
            assertThat(d.reason()).contains(requested);
        }
    }
}
