package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/** Expired join tokens are deleted once their retention has passed, and only then; on a real replicated cache. */
class JoinTokenPurgeTest {
    private static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");
    private static final SpiffeId VM = SpiffeId.ofServiceAccount(new TrustDomain("a.test"), "shop", "vm");

    private EmbeddedCacheManager manager;
    private InfinispanJoinTokenStore store;
    private EnrolmentAudit audit;

    @BeforeEach
    void start() {
        InetSocketAddress bind = new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next());
        manager = TestReplicas.start(new TestReplicas.Membership("purge-" + bind.getPort(), "solo", bind,
                List.of(bind)), null);
        store = new InfinispanJoinTokenStore(manager.getCache(InfinispanJoinTokenStore.CACHE));
        audit = new EnrolmentAudit(Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @AfterEach
    void stop() {
        manager.stop();
    }

    @Test
    void deletesOnlyTokensThatExpiredBeforeTheRetention() {
        JoinToken old = token(NOW.minus(Duration.ofHours(49)), NOW.minus(Duration.ofHours(25)));
        JoinToken recentlyExpired = token(NOW.minus(Duration.ofHours(2)), NOW.minus(Duration.ofHours(1)));
        JoinToken live = token(NOW.minus(Duration.ofMinutes(1)), NOW.plus(Duration.ofMinutes(14)));
        List.of(old, recentlyExpired, live).forEach(store::create);
        JoinTokenPurge purge = new JoinTokenPurge(store, Duration.ofHours(24), Clock.fixed(NOW, ZoneOffset.UTC), audit);

        assertThat(purge.sweep()).isEqualTo(1);
        assertThat(store.list()).extracting(JoinToken::id).containsExactlyInAnyOrder(recentlyExpired.id(), live.id());
        assertThat(store.find(old.id())).isEmpty();
        assertThat(audit.recent()).singleElement().satisfies(line -> assertThat(line)
                .contains("\"action\":\"token-purge\"", "\"token\":\"" + old.id() + "\"", VM.toString()));
        assertThat(purge.sweep()).isZero();

        JoinTokenPurge later = new JoinTokenPurge(store, Duration.ofHours(24),
                Clock.fixed(NOW.plus(Duration.ofHours(24)), ZoneOffset.UTC), audit);
        assertThat(later.sweep()).isEqualTo(1);
        assertThat(store.list()).extracting(JoinToken::id).containsExactly(live.id());
    }

    @Test
    void aTokenChangedSinceItWasReadIsNotDeleted() {
        JoinToken seen = token(NOW.minus(Duration.ofHours(49)), NOW.minus(Duration.ofHours(25)));
        store.create(seen);
        assertThat(store.revoke(seen.id())).isPresent();

        assertThat(store.remove(seen)).isFalse();
        assertThat(store.find(seen.id())).hasValueSatisfying(t -> assertThat(t.revoked()).isTrue());
        assertThat(store.remove(store.find(seen.id()).orElseThrow())).isTrue();
    }

    @Test
    void aNegativeRetentionIsRefused() {
        assertThatThrownBy(() -> new JoinTokenPurge(store, Duration.ofHours(-1), Clock.systemUTC(), audit))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("isthmus.enrolment.token-retention must not be negative, got PT-1H");
    }

    private static JoinToken token(Instant created, Instant expires) {
        JoinTokenSecrets.Minted minted = JoinTokenSecrets.mint();
        return new JoinToken(minted.id(), VM, minted.hash(), created, expires, 1, 0, false);
    }
}
