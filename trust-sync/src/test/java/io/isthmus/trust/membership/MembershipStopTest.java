package io.isthmus.trust.membership;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.endpoint.EndpointAnswer;
import io.isthmus.trust.endpoint.EndpointRequest;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * A member's push that arrives while this gateway is stopping (its membership component closed, its bundle endpoint
 * not yet) is answered 503 with Retry-After. Before, the closed worker's RejectedExecutionException reached the
 * endpoint, which logged it at ERROR with a stack trace and answered 500.
 */
class MembershipStopTest {
    @TempDir
    Path dir;

    @Test
    void aPushWhileStoppingIsAnswered503() {
        FederationMembership membership = new FederationMembership("east", new TrustDomain("east.acme.internal"),
                MembershipVerifierTest::roots, new MembershipStore(dir), Optional.empty(),
                m -> CompletableFuture.completedFuture(new MemberCheck.Unreachable("not probed in this test")), null,
                Set::of, Duration.ofMinutes(5), Duration.ofSeconds(1));
        membership.close();

        EndpointAnswer a = membership.answer(new EndpointRequest("POST", "/v1/membership", Optional.empty(),
                new InetSocketAddress("127.0.0.1", 40000),
                MembershipVerifierTest.signedByRoot(MembershipVerifierTest.three(2)).getBytes(StandardCharsets.UTF_8)));

        assertThat(a.status()).isEqualTo(503);
        assertThat(a.body()).contains("\"error\":\"stopping\"");
        assertThat(a.headers()).containsEntry("Retry-After", "30");
    }
}
