package io.isthmus.gateway.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.status.DenialView;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/** The page's recent denials: only denials, newest first, bounded, and never a query string. */
class RecentDenialsTest {
    private static final MeshName PAYMENTS = new MeshName("payments", "billing", "svc.clusterset.local");

    @Test
    void keepsTheNewestDenialsWithoutQueries() {
        RecentDenials denials = new RecentDenials(Clock.systemUTC(), 2);
        SpiffeId cart = SpiffeId.parse("spiffe://alpha.acme.internal/ns/shop/sa/cart");
        denials.record(AccessRequest.http(cart, PAYMENTS, 80, "GET", "/a"), new Decision.Allowed("p", "r", List.of()));
        for (String path : List.of("/one", "/two?token=secret", "/three")) {
            denials.record(AccessRequest.http(cart, PAYMENTS, 80, "GET", path), new Decision.Denied(
                    DenyReason.NO_MATCHING_ALLOW, "", "", "no ALLOW rule matches", List.of()));
        }
        denials.record(AccessRequest.tcp(cart, PAYMENTS, 5432), new Decision.Denied(DenyReason.EXPLICIT_DENY,
                "billing/no-db", "rules[0]", "DENY rule matched", List.of()));
        List<DenialView> list = denials.list();
        assertThat(list).extracting(DenialView::request).containsExactly("tcp port 5432", "GET /three port 80");
        assertThat(list.get(0).policy()).isEqualTo("billing/no-db rules[0]");
        assertThat(list.get(0).reason()).isEqualTo("explicit-deny");
        assertThat(list.get(1).destination()).isEqualTo("payments.billing.svc.clusterset.local");
        RecentDenials two = new RecentDenials(Clock.systemUTC(), 5);
        two.record(AccessRequest.http(cart, PAYMENTS, 80, "GET", "/two?token=secret"), new Decision.Denied(
                DenyReason.NO_MATCHING_ALLOW, "", "", "x", List.of()));
        assertThat(two.list().get(0).request()).isEqualTo("GET /two port 80");
    }
}
