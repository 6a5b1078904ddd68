package io.isthmus.trust.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * JWT key rotation: a key is published before it signs, and the old key stays published until the last token it
 * signed has expired; a token signed before the rotation keeps verifying against the published keys throughout.
 */
class JwtKeyRingTest {
    private static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
    private static final Duration TTL = Duration.ofMinutes(5);
    private static final TrustDomain TD = new TrustDomain("a.test");
    private static final SpiffeId ID = SpiffeId.parse("spiffe://a.test/vm/web");

    private static BundleSet bundle(JwtKeyRing ring) {
        return BundleSet.of(List.of(new TrustBundle(TD, List.of(), ring.published(), 1, java.util.Optional.empty())));
    }

    @Test
    void rotatesWithOverlapAndRefusesStepsOutOfOrder() {
        JwtSigningKey first = JwtSigningKey.generate();
        JwtSigningKey second = JwtSigningKey.generate();
        JwtKeyRing ring = JwtKeyRing.of(first);
        String oldToken = JwtSvidSigner.sign(ring.active(), ID, List.of("x"), T0, TTL).token();

        assertThatThrownBy(() -> ring.activate(T0, TTL)).isInstanceOf(JwtRotationException.class)
                .hasMessageContaining("prepare one first");
        JwtKeyRing prepared = ring.prepare(second);
        assertThat(prepared.active()).isEqualTo(first);
        assertThat(prepared.published()).extracting(JwtAuthority::keyId).containsExactly(first.keyId(), second.keyId());
        assertThatThrownBy(() -> prepared.prepare(JwtSigningKey.generate())).hasMessageContaining("already prepared");

        Instant activation = T0.plusSeconds(60);
        JwtKeyRing activated = prepared.activate(activation, TTL);
        assertThat(activated.active()).isEqualTo(second);
        assertThat(activated.published()).extracting(JwtAuthority::keyId).containsExactly(second.keyId(), first.keyId());
        // The old key's last tokens are still good while it is retiring.
        assertThat(JwtSvidValidator.validate(oldToken, "x", bundle(activated), T0.plusSeconds(120)))
                .isInstanceOf(JwtVerdict.Valid.class);

        assertThatThrownBy(() -> activated.retire(first.keyId(), activation.plus(TTL).minusSeconds(1)))
                .hasMessageContaining("may still have signed live tokens until " + activation.plus(TTL));
        assertThatThrownBy(() -> activated.retire(second.keyId(), activation.plus(TTL)))
                .hasMessageContaining("is not retiring");
        JwtKeyRing retired = activated.retire(first.keyId(), activation.plus(TTL));
        assertThat(retired.published()).extracting(JwtAuthority::keyId).containsExactly(second.keyId());
        assertThat(JwtSvidValidator.validate(oldToken, "x", bundle(retired), T0.plusSeconds(120)))
                .isInstanceOfSatisfying(JwtVerdict.Invalid.class,
                        v -> assertThat(v.reason()).isEqualTo(JwtRejection.UNKNOWN_KEY_ID));

        assertThat(activated.pruned(activation.plus(TTL).minusSeconds(1))).isSameAs(activated);
        assertThat(activated.pruned(activation.plus(TTL)).published()).hasSize(1);
    }

    @Test
    void persistsTheRingOwnerOnly(@TempDir Path dir) throws Exception {
        JwtKeyStore store = new JwtKeyStore(dir);
        assertThat(store.load()).isEmpty();
        JwtKeyRing ring = JwtKeyRing.of(JwtSigningKey.generate()).prepare(JwtSigningKey.generate())
                .activate(T0, TTL).prepare(JwtSigningKey.generate());
        store.save(ring);
        JwtKeyRing back = store.load().orElseThrow();
        assertThat(back.active().keyId()).isEqualTo(ring.active().keyId());
        assertThat(back.active().keys().getPrivate().getEncoded()).isEqualTo(ring.active().keys().getPrivate().getEncoded());
        assertThat(back.next().orElseThrow().keyId()).isEqualTo(ring.next().orElseThrow().keyId());
        assertThat(back.retiring()).isEqualTo(ring.retiring());
        assertThat(Files.getPosixFilePermissions(store.file()).toString()).isEqualTo("[OWNER_READ, OWNER_WRITE]");
        // A token signed before the restart verifies with the reloaded ring's published keys.
        String token = JwtSvidSigner.sign(ring.active(), ID, List.of("x"), T0, TTL).token();
        assertThat(JwtSvidValidator.validate(token, "x", bundle(back), T0)).isInstanceOf(JwtVerdict.Valid.class);

        Files.writeString(store.file(), "{\"active\": 1}");
        assertThatThrownBy(store::load).hasMessageContaining("is not a readable JWT key ring");
    }
}
