package io.isthmus.proxy.authz.vouch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Who the caller at the ingress is, for every kind of mTLS peer and vouching header. Each row: the peer's SVID, the
 * header values, and the expected resolution ({@code vouched <caller>}, {@code direct <caller>} or
 * {@code refused <reason> <audited caller>}). a uses the conventional gateway identity; b configured two others.
 */
class VouchingDecisionTest {
    static final TrustDomain A = new TrustDomain("a.acme.internal");
    static final TrustDomain B = new TrustDomain("b.acme.internal");
    static final String GW_A = "spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway";
    static final String GW_B1 = "spiffe://b.acme.internal/ns/edge/sa/gw-1";
    static final String GW_B2 = "spiffe://b.acme.internal/ns/edge/sa/gw-2";
    static final String CHECKOUT = "spiffe://a.acme.internal/ns/shop/sa/checkout";
    static final String INTRUDER = "spiffe://a.acme.internal/ns/shop/sa/intruder";
    static final String VM = "spiffe://a.acme.internal/ns/demo/sa/vm";
    static final GatewayIdentities GATEWAYS = new GatewayIdentities(Map.of(
            A, Set.of(GatewayIdentities.conventional(A)),
            B, Set.of(SpiffeId.parse(GW_B1), SpiffeId.parse(GW_B2))));

    static Stream<Arguments> table() {
        return Stream.of(
                row("a's gateway vouches for a caller of a", GW_A, List.of(CHECKOUT), "vouched " + CHECKOUT),
                row("surrounding whitespace is not part of the ID", GW_A, List.of("  " + CHECKOUT + " "),
                        "vouched " + CHECKOUT),
                row("a gateway must say whom it forwards", GW_A, List.of(), "refused missing-caller-identity " + GW_A),
                row("not a SPIFFE ID", GW_A, List.of("root"), "refused invalid-caller-identity " + GW_A),
                row("empty header", GW_A, List.of(""), "refused invalid-caller-identity " + GW_A),
                row("two callers at once", GW_A, List.of(CHECKOUT, INTRUDER), "refused invalid-caller-identity " + GW_A),
                row("a gateway vouching outside its trust domain", GW_A,
                        List.of("spiffe://c.acme.internal/ns/shop/sa/checkout"),
                        "refused caller-outside-peer-trust-domain spiffe://c.acme.internal/ns/shop/sa/checkout"),
                row("b's configured gateways vouch (first)", GW_B1, List.of("spiffe://b.acme.internal/ns/x/sa/y"),
                        "vouched spiffe://b.acme.internal/ns/x/sa/y"),
                row("b's configured gateways vouch (second)", GW_B2, List.of("spiffe://b.acme.internal/ns/x/sa/y"),
                        "vouched spiffe://b.acme.internal/ns/x/sa/y"),
                row("b's gateway cannot vouch for a", GW_B1, List.of(CHECKOUT),
                        "refused caller-outside-peer-trust-domain " + CHECKOUT),
                // Issue 10 section 1: any SVID could vouch. A workload or VM is itself the caller.
                row("workload without header is itself the caller", INTRUDER, List.of(), "direct " + INTRUDER),
                row("workload impersonating checkout", INTRUDER, List.of(CHECKOUT),
                        "refused vouching-by-non-gateway " + CHECKOUT),
                row("VM without header is itself the caller", VM, List.of(), "direct " + VM),
                row("VM impersonating checkout", VM, List.of(CHECKOUT), "refused vouching-by-non-gateway " + CHECKOUT),
                row("a workload asserting itself still may not vouch", INTRUDER, List.of(INTRUDER),
                        "refused vouching-by-non-gateway " + INTRUDER),
                row("a workload asserting garbage is audited as itself", INTRUDER, List.of("root"),
                        "refused vouching-by-non-gateway " + INTRUDER),
                row("a workload sending an empty header", INTRUDER, List.of(""),
                        "refused vouching-by-non-gateway " + INTRUDER),
                row("a workload sending two headers", INTRUDER, List.of(CHECKOUT, CHECKOUT),
                        "refused vouching-by-non-gateway " + INTRUDER),
                row("b's conventional ID is not one of b's configured gateways", 
                        "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway",
                        List.of("spiffe://b.acme.internal/ns/x/sa/y"),
                        "refused vouching-by-non-gateway spiffe://b.acme.internal/ns/x/sa/y"),
                row("...and without a header it is just a caller",
                        "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway", List.of(),
                        "direct spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway"),
                row("the gateway path in a trust domain without gateways",
                        "spiffe://c.acme.internal/ns/isthmus-system/sa/isthmus-gateway",
                        List.of("spiffe://c.acme.internal/ns/shop/sa/checkout"),
                        "refused vouching-by-non-gateway spiffe://c.acme.internal/ns/shop/sa/checkout"),
                row("look-alike: suffix", GW_A + "-evil", List.of(CHECKOUT), "refused vouching-by-non-gateway " + CHECKOUT),
                row("look-alike: deeper path", GW_A + "/x", List.of(CHECKOUT), "refused vouching-by-non-gateway " + CHECKOUT),
                row("look-alike: case", "spiffe://a.acme.internal/ns/isthmus-system/sa/Isthmus-gateway",
                        List.of(CHECKOUT), "refused vouching-by-non-gateway " + CHECKOUT),
                row("look-alike: other namespace", "spiffe://a.acme.internal/ns/default/sa/isthmus-gateway",
                        List.of(CHECKOUT), "refused vouching-by-non-gateway " + CHECKOUT));
    }

    private static Arguments row(String name, String peer, List<String> header, String expected) {
        return Arguments.of(name, peer, header, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void resolvesTheCaller(String name, String peer, List<String> header, String expected) {
        CallerResolution r = VouchingDecision.resolve(SpiffeId.parse(peer), header, GATEWAYS);
        String actual = switch (r) {
            case CallerResolution.Vouched v -> "vouched " + v.caller();
            case CallerResolution.Direct d -> "direct " + d.caller();
            case CallerResolution.Refused f -> "refused " + f.reason().code() + " " + f.auditedCaller();
        };
        assertThat(actual).isEqualTo(expected);
        if (r instanceof CallerResolution.Vouched v) {
            assertThat(v.gateway().toString()).isEqualTo(peer);
            assertThat(r.vouchingGateway()).contains(SpiffeId.parse(peer));
        } else {
            assertThat(r.vouchingGateway()).isEmpty();
        }
        if (r instanceof CallerResolution.Refused f) {
            assertThat(f.peer().toString()).isEqualTo(peer);
            assertThat(f.detail()).contains(peer);
        }
    }

    @Test
    void aRefusedImpersonationNamesTheGatewaysAndTellsTheCallerWhatToDo() {
        CallerResolution.Refused r = (CallerResolution.Refused) VouchingDecision.resolve(SpiffeId.parse(VM),
                List.of(CHECKOUT), GATEWAYS);
        assertThat(r.reason()).isEqualTo(DenyReason.VOUCHING_BY_NON_GATEWAY);
        assertThat(r.detail()).isEqualTo(VM + " asserted the caller '" + CHECKOUT + "' but is not a gateway of"
                + " a.acme.internal (gateways: [" + GW_A + "]); only a gateway may vouch for a caller. Call without"
                + " the header to be authorized as " + VM);
    }

    @Test
    void gatewayIdentitiesBelongToTheirTrustDomain() {
        assertThatThrownBy(() -> new GatewayIdentities(Map.of(A, Set.of(SpiffeId.parse(GW_B1)))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("gateway identity " + GW_B1 + " is listed for trust domain a.acme.internal but belongs to"
                        + " b.acme.internal: a cluster's gateways are of its own trust domain");
        assertThatThrownBy(() -> new GatewayIdentities(Map.of(A, Set.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trust domain a.acme.internal lists no gateway identity")
                .hasMessageContaining(GW_A);
        assertThat(GatewayIdentities.conventional(List.of(A, B)).of(B))
                .containsExactly(SpiffeId.parse("spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway"));
        assertThat(GATEWAYS.of(new TrustDomain("c.acme.internal"))).isEmpty();
    }

    @Test
    void aVouchedCallerIsOfItsGatewaysTrustDomain() {
        assertThatThrownBy(() -> new CallerResolution.Vouched(SpiffeId.parse(CHECKOUT), SpiffeId.parse(GW_B1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
