package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

class JoinTokenPolicyTest {
    private static final Instant T0 = Instant.parse("2026-11-23T10:00:00Z");
    private static final SpiffeId VM = SpiffeId.ofServiceAccount(new TrustDomain("a.test"), "shop", "billing-vm");
    private static final JoinTokenSecrets.Minted MINTED = JoinTokenSecrets.mint();

    private static JoinToken token(int maxUses, int uses, boolean revoked) {
        return new JoinToken(MINTED.id(), VM, MINTED.hash(), T0, T0.plus(Duration.ofMinutes(15)), maxUses, uses, revoked);
    }

    static Stream<Arguments> cases() {
        String other = JoinTokenSecrets.mint().secret();
        return Stream.of(
                Arguments.of("fresh one-use token", token(1, 0, false), MINTED.secret(), T0.plusSeconds(1), null),
                Arguments.of("absent token", null, MINTED.secret(), T0, TokenRejection.UNKNOWN),
                Arguments.of("wrong secret (forged)", token(1, 0, false), other, T0, TokenRejection.UNKNOWN),
                Arguments.of("no secret", token(1, 0, false), null, T0, TokenRejection.UNKNOWN),
                Arguments.of("revoked", token(1, 0, true), MINTED.secret(), T0, TokenRejection.REVOKED),
                Arguments.of("used up", token(1, 1, false), MINTED.secret(), T0, TokenRejection.USED),
                Arguments.of("second of three uses", token(3, 1, false), MINTED.secret(), T0, null),
                Arguments.of("at expiry", token(1, 0, false), MINTED.secret(), T0.plus(Duration.ofMinutes(15)),
                        TokenRejection.EXPIRED),
                Arguments.of("revoked wins over used and expired", token(1, 1, true), MINTED.secret(),
                        T0.plus(Duration.ofHours(1)), TokenRejection.REVOKED),
                Arguments.of("wrong secret on a revoked token says nothing about it", token(1, 0, true), other, T0,
                        TokenRejection.UNKNOWN));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decides(String name, JoinToken stored, String secret, Instant now, TokenRejection expected) {
        TokenVerdict.Rejected verdict = JoinTokenPolicy.check(MINTED.id(), stored, secret, now);
        if (expected == null) {
            assertThat(verdict).isNull();
        } else {
            assertThat(verdict.reason()).isEqualTo(expected);
            assertThat(verdict.message()).contains(MINTED.id()).doesNotContain(MINTED.secret());
        }
    }

    @Test
    void mintedTokensParseBackAndHashOnlyTheSecret() {
        JoinTokenSecrets.Presented p = JoinTokenSecrets.parse(MINTED.text()).orElseThrow();
        assertThat(p.id()).isEqualTo(MINTED.id());
        assertThat(p.secret()).isEqualTo(MINTED.secret());
        assertThat(MINTED.hash()).hasSize(64).doesNotContain(MINTED.secret());
        assertThat(JoinTokenSecrets.matches(MINTED.secret(), MINTED.hash())).isTrue();
        assertThat(JoinTokenSecrets.mint().text()).isNotEqualTo(MINTED.text());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "garbage", "ijt1.", "ijt1.abc", "ijt1.short.secret", "ijt2.AAAAAAAAAAAAAAAAAAAAAA.x",
        "ijt1.AAAAAAAAAAAAAAAAAAAAAA.tooShortSecret", "ijt1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"})
    void refusesTextsThatAreNotTokens(String text) {
        assertThat(JoinTokenSecrets.parse(text)).isEmpty();
    }

    @Test
    void tokensCheckThemselves() {
        assertThatThrownBy(() -> new JoinToken(MINTED.id(), VM, MINTED.hash(), T0, T0, 1, 0, false))
                .hasMessageContaining("not after its creation");
        assertThatThrownBy(() -> new JoinToken(MINTED.id(), VM, MINTED.hash(), T0, T0.plusSeconds(1), 0, 0, false))
                .hasMessageContaining("at least 1");
        assertThatThrownBy(() -> new JoinToken(MINTED.id(), VM, "not-a-hash", T0, T0.plusSeconds(1), 1, 0, false))
                .hasMessageContaining("SHA-256");
        assertThatThrownBy(() -> new JoinToken(MINTED.id(), new TrustDomain("a.test").id(), MINTED.hash(), T0,
                T0.plusSeconds(1), 1, 0, false)).hasMessageContaining("no path");
    }
}
