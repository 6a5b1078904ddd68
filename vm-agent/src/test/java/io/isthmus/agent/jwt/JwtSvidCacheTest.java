package io.isthmus.agent.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.jwt.JwtSvidSigner;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.MutableClock;

/**
 * The agent's JWT-SVID cache on a controlled clock: one gateway call per (ID, audience set) until half the token's
 * life has passed, then a fresh token; a gateway answer that does not validate is an error and is not cached.
 */
class JwtSvidCacheTest {
    private static final TrustDomain TD = new TrustDomain("vm.test");
    private static final SpiffeId ME = SpiffeId.parse("spiffe://vm.test/ns/shop/sa/vm");
    private static final JwtSigningKey KEY = JwtSigningKey.generate();
    private static final BundleSet BUNDLES = BundleSet.of(List.of(new TrustBundle(TD, List.of(),
            List.of(KEY.authority()), 1, Optional.empty())));

    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-05T03:00:00Z"));
    private final AtomicInteger calls = new AtomicInteger();
    private final AtomicReference<JwtSvidCache.Fetcher> gateway = new AtomicReference<>((subject, audience) ->
            JwtSvidSigner.sign(KEY, subject, audience, clock.instant(), Duration.ofMinutes(5)).token());
    private final JwtSvidCache cache = new JwtSvidCache((s, a) -> {
        calls.incrementAndGet();
        return gateway.get().fetch(s, a);
    }, BUNDLES, clock);

    @Test
    void reusesATokenUntilHalfItsLifeThenRefetches() throws Exception {
        String first = cache.get(ME, List.of("b", "a", "b")).token();
        assertThat(cache.get(ME, List.of("a", "b")).token()).isEqualTo(first);
        assertThat(calls).hasValue(1);
        clock.advance(Duration.ofSeconds(149));
        assertThat(cache.get(ME, List.of("a", "b")).token()).isEqualTo(first);
        assertThat(calls).hasValue(1);
        clock.advance(Duration.ofSeconds(2));
        String second = cache.get(ME, List.of("a", "b")).token();
        assertThat(second).isNotEqualTo(first);
        assertThat(calls).hasValue(2);
        cache.get(ME, List.of("c"));
        assertThat(calls).hasValue(3);
        assertThat(cache.size()).isEqualTo(2);
    }

    @Test
    void refusesAndDoesNotCacheAGatewayAnswerThatDoesNotValidate() {
        JwtSigningKey stranger = JwtSigningKey.generate();
        gateway.set((s, a) -> JwtSvidSigner.sign(stranger, s, a, clock.instant(), Duration.ofMinutes(5)).token());
        assertThatThrownBy(() -> cache.get(ME, List.of("a"))).isInstanceOf(GatewayException.class)
                .hasMessageContaining("does not validate (unknown-key-id)");
        gateway.set((s, a) -> JwtSvidSigner.sign(KEY, SpiffeId.parse("spiffe://vm.test/other"), a, clock.instant(),
                Duration.ofMinutes(5)).token());
        assertThatThrownBy(() -> cache.get(ME, List.of("a"))).hasMessageContaining("not the requested " + ME);
        gateway.set((s, a) -> JwtSvidSigner.sign(KEY, s, List.of("elsewhere"), clock.instant(), Duration.ofMinutes(5))
                .token());
        assertThatThrownBy(() -> cache.get(ME, List.of("a"))).hasMessageContaining("audience-mismatch");
        assertThat(cache.size()).isZero();
    }

    @Test
    void whileTheGatewayIsUnavailableTheHeldTokenIsServedUntilTenSecondsBeforeItExpires() throws Exception {
        String held = cache.get(ME, List.of("a")).token();
        gateway.set((s, a) -> {
            throw new GatewayException("jwt-key-not-federated", 503, "peers do not know this replica's key yet", null);
        });
        clock.advance(Duration.ofSeconds(151));
        assertThat(cache.get(ME, List.of("a")).token()).as("past half life, gateway 503").isEqualTo(held);
        assertThat(cache.get(ME, List.of("a")).token()).as("within the retry pause: no call").isEqualTo(held);
        assertThat(calls).hasValue(2);
        clock.advance(Duration.ofSeconds(1));
        assertThat(cache.get(ME, List.of("a")).token()).isEqualTo(held);
        assertThat(calls).as("tried again after the pause").hasValue(3);
        clock.advance(Duration.ofSeconds(300 - 152 - 10));
        assertThat(cache.get(ME, List.of("a")).token()).as("10 s before expiry: still served").isEqualTo(held);
        clock.advance(Duration.ofSeconds(1));
        assertThatThrownBy(() -> cache.get(ME, List.of("a"))).isInstanceOf(GatewayException.class)
                .hasMessageContaining("peers do not know");
        gateway.set((s, a) -> JwtSvidSigner.sign(KEY, s, a, clock.instant(), Duration.ofMinutes(5)).token());
        assertThat(cache.get(ME, List.of("a")).token()).as("the gateway is back: a fresh token").isNotEqualTo(held);
    }

    @Test
    void aRefusalEndsTheHeldTokenAtOnce() throws Exception {
        cache.get(ME, List.of("a"));
        gateway.set((s, a) -> {
            throw new GatewayException("workload-id-refused", 403, "this agent may not act as " + s, null);
        });
        clock.advance(Duration.ofSeconds(151));
        assertThatThrownBy(() -> cache.get(ME, List.of("a"))).hasMessageContaining("may not act as");
    }
}
