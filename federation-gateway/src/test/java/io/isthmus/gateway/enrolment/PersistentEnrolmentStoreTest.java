package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/** A lone replica that restarts keeps its join tokens, enrolled identities and revocations. */
class PersistentEnrolmentStoreTest {

    @Test
    void tokensAndRevocationsSurviveARestart(@TempDir Path dir) {
        InetSocketAddress bind = new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next());
        TestReplicas.Membership m = new TestReplicas.Membership("persist-" + bind.getPort(), "solo", bind,
                List.of(bind));
        SpiffeId vm = SpiffeId.ofServiceAccount(new TrustDomain("a.test"), "shop", "vm");
        JoinTokenSecrets.Minted minted = JoinTokenSecrets.mint();
        EmbeddedCacheManager first = TestReplicas.start(m, dir);
        try {
            new InfinispanJoinTokenStore(first.getCache(InfinispanJoinTokenStore.CACHE)).create(new JoinToken(minted.id(),
                    vm, minted.hash(), Instant.now(), Instant.now().plus(Duration.ofMinutes(5)), 1, 0, false));
            new InfinispanVmIdentityStore(first.getCache(InfinispanVmIdentityStore.CACHE)).revoke(vm, "lost laptop",
                    Instant.now());
        } finally {
            first.stop();
        }
        EmbeddedCacheManager second = TestReplicas.start(m, dir);
        try {
            assertThat(new InfinispanJoinTokenStore(second.getCache(InfinispanJoinTokenStore.CACHE)).list())
                    .extracting(JoinToken::id).containsExactly(minted.id());
            assertThat(new InfinispanVmIdentityStore(second.getCache(InfinispanVmIdentityStore.CACHE)).find(vm))
                    .hasValueSatisfying(v -> assertThat(v.revoked()).isTrue());
        } finally {
            second.stop();
        }
    }
}
