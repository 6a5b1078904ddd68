package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A lower-case method under a DENY on {@code DELETE}, through the real listeners (a's egress, b's ingress, b's
 * backend): before the fix {@code delete /orders/7} was forwarded as is and served (some backends upper-case the
 * method); now it is refused before policy, and the backend sees nothing. (The empty {@code principals: []} list of
 * the same review is refused when the policy is read, see {@code PolicyParserTest.refusedExactly}.)
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
    void aLowerCaseMethodIsRefusedBeforePolicyAndNeverReachesTheBackend() throws Exception {
        fed.usePolicies(ALLOW_ALL_BUT_DELETE);
        int before = fed.cluster("b").backendSawXfcc.size();
        for (String method : List.of("delete", "Delete", "dElEtE")) {
            try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
                RawHttp.Response r = http.exchange(method + " /orders/7 HTTP/1.1\r\nHost: " + PAYMENTS
                        + "\r\nAuthorization: Bearer checkout\r\n\r\n");
                assertThat(r.status()).as(method).isEqualTo(400);
                assertThat(r.reason()).isEqualTo("lower-case-method");
                assertThat(r.body()).contains("send 'DELETE'");
            }
        }
        assertThat(fed.cluster("b").backendSawXfcc.size() - before).as("requests b's backend received").isZero();
        assertThat(fed.asked).as("policy was never asked").isEmpty();
    }
}
