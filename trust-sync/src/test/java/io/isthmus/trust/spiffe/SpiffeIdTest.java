package io.isthmus.trust.spiffe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpiffeIdTest {

    @ParameterizedTest
    @ValueSource(strings = {
        // Examples from SPIFFE-ID.md section 2.2.
        "spiffe://staging.example.com/payments/mysql",
        "spiffe://staging.example.com/payments/web-fe",
        "spiffe://k8s-west.example.com/ns/staging/sa/default",
        "spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453",
        // Ours and edge cases that are valid.
        "spiffe://aws-east.acme.internal/ns/shop/sa/checkout",
        "spiffe://trust_domain.example/a/b.c/D-E_F",
        "spiffe://1.2.3.4/x",
        "spiffe://a/..a/a../.../b",
        "spiffe://example.org",
    })
    void acceptsValidIds(String text) {
        SpiffeId id = SpiffeId.parse(text);
        assertThat(id.toString()).isEqualTo(text);
        assertThat(SpiffeId.parse(id.toString())).isEqualTo(id);
    }

    static Stream<Arguments> invalidIds() {
        return Stream.of(
                Arguments.of("", SpiffeIdError.EMPTY),
                Arguments.of("http://example.org/foo", SpiffeIdError.WRONG_SCHEME),
                Arguments.of("SPIFFE://example.org/foo", SpiffeIdError.WRONG_SCHEME),
                Arguments.of("spiffe:/example.org/foo", SpiffeIdError.WRONG_SCHEME),
                Arguments.of("example.org/foo", SpiffeIdError.WRONG_SCHEME),
                Arguments.of("spiffe://", SpiffeIdError.MISSING_TRUST_DOMAIN),
                Arguments.of("spiffe:///path", SpiffeIdError.MISSING_TRUST_DOMAIN),
                Arguments.of("spiffe://Example.org/foo", SpiffeIdError.TRUST_DOMAIN_UPPERCASE),
                Arguments.of("spiffe://exa mple.org/foo", SpiffeIdError.TRUST_DOMAIN_CHARACTER),
                Arguments.of("spiffe://exam+ple.org/foo", SpiffeIdError.TRUST_DOMAIN_CHARACTER),
                Arguments.of("spiffe://user@example.org/foo", SpiffeIdError.USER_INFO),
                Arguments.of("spiffe://user:pass@example.org/foo", SpiffeIdError.USER_INFO),
                Arguments.of("spiffe://example.org:8080/foo", SpiffeIdError.PORT),
                Arguments.of("spiffe://example.org:/foo", SpiffeIdError.PORT),
                Arguments.of("spiffe://[::1]/foo", SpiffeIdError.PORT),
                Arguments.of("spiffe://example.org/foo?x=1", SpiffeIdError.QUERY),
                Arguments.of("spiffe://example.org?x=1", SpiffeIdError.QUERY),
                Arguments.of("spiffe://example.org/foo#frag", SpiffeIdError.FRAGMENT),
                Arguments.of("spiffe://example.org#frag", SpiffeIdError.FRAGMENT),
                Arguments.of("spiffe://example.org/fo%20o", SpiffeIdError.PERCENT_ENCODED),
                Arguments.of("spiffe://exa%2Dmple.org/foo", SpiffeIdError.PERCENT_ENCODED),
                Arguments.of("spiffe://example.org//foo", SpiffeIdError.EMPTY_SEGMENT),
                Arguments.of("spiffe://example.org/foo//bar", SpiffeIdError.EMPTY_SEGMENT),
                Arguments.of("spiffe://example.org/./foo", SpiffeIdError.DOT_SEGMENT),
                Arguments.of("spiffe://example.org/foo/..", SpiffeIdError.DOT_SEGMENT),
                Arguments.of("spiffe://example.org/../foo", SpiffeIdError.DOT_SEGMENT),
                Arguments.of("spiffe://example.org/foo/", SpiffeIdError.TRAILING_SLASH),
                Arguments.of("spiffe://example.org/", SpiffeIdError.TRAILING_SLASH),
                Arguments.of("spiffe://example.org/fo o", SpiffeIdError.PATH_CHARACTER),
                Arguments.of("spiffe://example.org/foo:bar", SpiffeIdError.PATH_CHARACTER),
                Arguments.of("spiffe://example.org/foo@bar", SpiffeIdError.PATH_CHARACTER),
                Arguments.of("spiffe://example.org/caf\u00e9", SpiffeIdError.PATH_CHARACTER),
                Arguments.of("spiffe://example.org/" + "a".repeat(2048), SpiffeIdError.TOO_LONG),
                Arguments.of("spiffe://" + "a".repeat(256) + "/x", SpiffeIdError.TRUST_DOMAIN_TOO_LONG));
    }

    @ParameterizedTest
    @MethodSource("invalidIds")
    void rejectsInvalidIdsNamingTheRule(String text, SpiffeIdError expected) {
        assertThatThrownBy(() -> SpiffeId.parse(text))
                .isInstanceOfSatisfying(InvalidSpiffeIdException.class, e -> {
                    assertThat(e.error()).isEqualTo(expected);
                    assertThat(e.getMessage()).contains(expected.rule());
                });
    }

    @Test
    void lengthLimitIsExactly2048Bytes() {
        String prefix = "spiffe://example.org/";
        String atLimit = prefix + "a".repeat(2048 - prefix.length());
        assertThat(SpiffeId.parse(atLimit).toString()).hasSize(2048);
        assertThatThrownBy(() -> SpiffeId.parse(atLimit + "a"))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.TOO_LONG);
        assertThatThrownBy(() -> new SpiffeId(new TrustDomain("example.org"), "/" + "a".repeat(2048)))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.TOO_LONG);
    }

    @Test
    void everyAsciiCharacterIsJudgedByTheSpecCharacterSets() {
        IntStream.range(0, 128).forEach(c -> {
            String ch = String.valueOf((char) c);
            boolean tdOk = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
            boolean pathOk = tdOk || (c >= 'A' && c <= 'Z');
            String inTd = "spiffe://ex" + ch + "ample/p";
            String inPath = "spiffe://example/p" + ch + "q";
            // '/' legitimately ends the trust domain and splits path segments; every other character either
            // belongs to the spec's set or makes the ID invalid.
            if (c != '/') {
                assertThat(SpiffeId.tryParse(inTd).isPresent()).as("trust domain char %d", c).isEqualTo(tdOk);
                assertThat(SpiffeId.tryParse(inPath).isPresent()).as("path char %d", c).isEqualTo(pathOk);
            }
        });
    }

    @Test
    void workloadIdsNeedAPath() {
        assertThat(SpiffeId.parseWorkload("spiffe://example.org/ns/a/sa/b").path()).isEqualTo("/ns/a/sa/b");
        assertThatThrownBy(() -> SpiffeId.parseWorkload("spiffe://example.org"))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.ROOT_PATH_REQUIRED);
    }

    @Test
    void trustDomainsParseBareOrAsIds() {
        assertThat(TrustDomain.parse("a.acme.internal")).isEqualTo(new TrustDomain("a.acme.internal"));
        assertThat(TrustDomain.parse("spiffe://a.acme.internal")).isEqualTo(new TrustDomain("a.acme.internal"));
        assertThatThrownBy(() -> TrustDomain.parse("spiffe://a.acme.internal/ns/x"))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.NOT_A_TRUST_DOMAIN);
        assertThatThrownBy(() -> TrustDomain.parse("https://a.acme.internal"))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.WRONG_SCHEME);
        assertThatThrownBy(() -> TrustDomain.parse("A.acme"))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.TRUST_DOMAIN_UPPERCASE);
        assertThatThrownBy(() -> TrustDomain.parse(""))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.EMPTY);
    }

    @Test
    void serviceAccountIdsFollowTheKubernetesConvention() {
        SpiffeId id = SpiffeId.ofServiceAccount(new TrustDomain("b.acme.internal"), "billing", "payments");
        assertThat(id).hasToString("spiffe://b.acme.internal/ns/billing/sa/payments");
        assertThat(id.memberOf(new TrustDomain("b.acme.internal"))).isTrue();
        assertThat(id.memberOf(new TrustDomain("a.acme.internal"))).isFalse();
        assertThatThrownBy(() -> SpiffeId.ofServiceAccount(new TrustDomain("b"), "bad ns", "x"))
                .hasFieldOrPropertyWithValue("error", SpiffeIdError.PATH_CHARACTER);
    }

    @Test
    void messageQuotesTheInput() {
        assertThatThrownBy(() -> SpiffeId.parse("spiffe://example.org/foo?x"))
                .hasMessage("SPIFFE ID 'spiffe://example.org/foo?x' has a query ('?'); a SPIFFE ID has none");
    }
}
