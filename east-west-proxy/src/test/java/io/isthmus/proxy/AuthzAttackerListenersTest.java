package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Security review: holes of {@code AuthzAttackerReviewTest} confirmed through the real listeners (a's egress, b's
 * ingress, b's backend). Each test FAILS while the hole is open. (The empty {@code principals: []} list is now
 * refused when the policy is read, see {@code PolicyParserTest.refusedExactly}, so no listener ever runs with it.)
 */
class AuthzAttackerListenersTest {
    private static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    private static final String ALLOW_ALL_BUT_DELETE = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: allow-all, namespace: billing}
            spec:
              rules:
              - {}
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: no-delete, namespace: billing}
            spec:
              action: DENY
              rules:
              - to: [{operation: {methods: [DELETE]}}]
            """;
    private Federation fed;

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(1)).withMaxHeaderSize(8192));
    }

    @AfterEach
    void stop() {
        fed.close();
    }

    @Test
    void upperCaseDeleteIsDenied() throws Exception {
        fed.usePolicies(ALLOW_ALL_BUT_DELETE);
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange("DELETE /orders/7 HTTP/1.1\r\nHost: " + PAYMENTS
                    + "\r\nAuthorization: Bearer checkout\r\n\r\n");
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("explicit-deny");
        }
    }

    @Test
    void lowerCaseDeleteMustBeDeniedOrRefusedButReachesTheBackend() throws Exception {
        fed.usePolicies(ALLOW_ALL_BUT_DELETE);
        int before = fed.cluster("b").backendSawXfcc.size();
        int status;
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange("delete /orders/7 HTTP/1.1\r\nHost: " + PAYMENTS
                    + "\r\nAuthorization: Bearer checkout\r\n\r\n");
            status = r.status();
        }
        System.out.println("lower-case delete: status " + status + ", policy asked " + fed.asked
                + ", b's backend requests " + (fed.cluster("b").backendSawXfcc.size() - before));
        assertThat(fed.cluster("b").backendSawXfcc.size() - before)
                .as("b's backend received 'delete /orders/7' despite DENY methods [DELETE] (status %d)", status)
                .isZero();
        assertThat(status).as("lower-case delete under DENY methods [DELETE]").isIn(400, 403);
    }
}
