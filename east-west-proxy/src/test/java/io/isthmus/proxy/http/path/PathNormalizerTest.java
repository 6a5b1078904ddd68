package io.isthmus.proxy.http.path;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The path normalizer, row by row: mode, request target, and either the target forwarded (and matched by policy
 * without its query) or {@code refused <code>}. Rows marked RFC are the examples of RFC 3986 sections 5.2.4 and
 * 6.2.2; rows marked issue 10 are the bypasses found against an earlier gateway.
 */
class PathNormalizerTest {
    private static final PathNormalization MERGE = PathNormalization.MERGE_SLASHES;

    static Stream<Arguments> table() {
        return Stream.of(
                row(MERGE, "/", "/"),
                row(MERGE, "/admin", "/admin"),
                row(MERGE, "/admin/users/7", "/admin/users/7"),
                // issue 10: each of these reached a backend that serves it as /admin.
                row(MERGE, "/./admin", "/admin"),
                row(MERGE, "/%61dmin", "/admin"),
                row(MERGE, "/public/../admin", "/admin"),
                row(MERGE, "/%2e/admin", "/admin"),
                row(MERGE, "/%2E%2E/admin", "/admin"),
                row(MERGE, "/.%2e/admin", "/admin"),
                row(MERGE, "/%2e%2E/%2e/admin", "/admin"),
                row(MERGE, "/../../../admin", "/admin"),
                // RFC 3986 5.2.4 and 6.2.2 (the path part of its examples).
                row(MERGE, "/a/b/c/./../../g", "/a/g"),
                row(MERGE, "/a/./b/../b/%63/%7bfoo%7d", "/a/b/c/%7Bfoo%7D"),
                row(MERGE, "/%7e/%41%42%5f%2D", "/~/AB_-"),
                row(MERGE, "/..", "/"),
                row(MERGE, "/.", "/"),
                row(MERGE, "/admin/.", "/admin/"),
                row(MERGE, "/admin/..", "/"),
                row(MERGE, "/a/b/..", "/a/"),
                row(MERGE, "/.well-known/x", "/.well-known/x"),
                row(MERGE, "/.../x", "/.../x"),
                row(MERGE, "/a./b.", "/a./b."),
                // Double encoding is decoded once at most: a backend that decodes again sees a literal "%2e".
                row(MERGE, "/%252e%252e/admin", "/%252e%252e/admin"),
                row(MERGE, "/%25", "/%25"),
                row(MERGE, "/admin%3bx", "/admin%3Bx"),
                row(MERGE, "/%00", "/%00"),
                row(MERGE, "//admin", "/admin"),
                row(MERGE, "/a//b///c/", "/a/b/c/"),
                row(MERGE, "/a//../b", "/b"),
                row(MERGE, "/admin?x=/../y&z=%2f", "/admin?x=/../y&z=%2f"),
                row(MERGE, "/./admin?", "/admin?"),
                row(MERGE, "/a?b|c{d}", "/a?b|c{d}"),
                row(MERGE, "*", "*"),
                row(MERGE, "/a%2fb", "refused path-encoded-slash"),
                row(MERGE, "/a%2Fb", "refused path-encoded-slash"),
                row(MERGE, "/a%5cb", "refused path-encoded-backslash"),
                row(MERGE, "/a%5Cb", "refused path-encoded-backslash"),
                row(MERGE, "/a\\b", "refused path-backslash"),
                row(MERGE, "/admin;x=1", "refused path-path-parameters"),
                row(MERGE, "/public/..;/admin", "refused path-path-parameters"),
                row(MERGE, "/admin#top", "refused path-fragment"),
                row(MERGE, "/admin?x#top", "refused path-fragment"),
                row(MERGE, "/a%", "refused path-invalid-percent-encoding"),
                row(MERGE, "/a%4", "refused path-invalid-percent-encoding"),
                row(MERGE, "/a%zz", "refused path-invalid-percent-encoding"),
                row(MERGE, "/a%%41", "refused path-invalid-percent-encoding"),
                row(MERGE, "admin", "refused path-not-origin-form"),
                row(MERGE, "", "refused path-not-origin-form"),
                row(MERGE, "http://payments/admin", "refused path-not-origin-form"),
                row(MERGE, "/a b", "refused path-invalid-character"),
                row(MERGE, "/a\u0000b", "refused path-invalid-character"),
                row(MERGE, "/a\u00e9", "refused path-invalid-character"),
                row(MERGE, "/a|b", "refused path-invalid-character"),
                row(MERGE, "/a?b c", "refused path-invalid-character"),
                row(MERGE, "/a?b\u0000", "refused path-invalid-character"),
                // base: no slash merging (RFC 3986 alone keeps empty segments).
                row(PathNormalization.BASE, "//admin", "//admin"),
                row(PathNormalization.BASE, "/a//../b", "/a/b"),
                row(PathNormalization.BASE, "/%2e/admin", "/admin"),
                row(PathNormalization.BASE, "/a%2fb", "refused path-encoded-slash"),
                // decode-and-merge-slashes: encoded slashes and backslashes are separators.
                row(PathNormalization.DECODE_AND_MERGE_SLASHES, "/a%2Fb", "/a/b"),
                row(PathNormalization.DECODE_AND_MERGE_SLASHES, "/a%5cb", "/a/b"),
                row(PathNormalization.DECODE_AND_MERGE_SLASHES, "/a\\b", "/a/b"),
                row(PathNormalization.DECODE_AND_MERGE_SLASHES, "/public%2F..%2Fadmin", "/admin"),
                row(PathNormalization.DECODE_AND_MERGE_SLASHES, "/x\\..\\admin", "/admin"),
                row(PathNormalization.DECODE_AND_MERGE_SLASHES, "/admin;x", "refused path-path-parameters"),
                // none: nothing changes, nothing is refused (the operator chose to trust the backend's view).
                row(PathNormalization.NONE, "/./admin", "/./admin"),
                row(PathNormalization.NONE, "/a;b\\c%2f", "/a;b\\c%2f"),
                row(PathNormalization.NONE, "/a?b", "/a?b"));
    }

    private static Arguments row(PathNormalization mode, String target, String expected) {
        return Arguments.of(mode, target, expected);
    }

    private static String outcome(PathVerdict v) {
        return switch (v) {
            case PathVerdict.Normalized n -> n.target();
            case PathVerdict.Refused r -> "refused " + r.reason().code();
        };
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @MethodSource("table")
    void normalizes(PathNormalization mode, String target, String expected) {
        PathNormalizer normalizer = new PathNormalizer(mode);
        PathVerdict v = normalizer.normalize(target);
        assertThat(outcome(v)).isEqualTo(expected);
        if (v instanceof PathVerdict.Normalized n) {
            int q = n.target().indexOf('?');
            assertThat(n.path()).isEqualTo(q < 0 ? n.target() : n.target().substring(0, q));
            // Normalizing what is forwarded changes nothing: the ingress of a second hop agrees with the first.
            assertThat(outcome(normalizer.normalize(n.target()))).isEqualTo(n.target());
        } else {
            assertThat(((PathVerdict.Refused) v).detail()).startsWith("request target '");
        }
    }

    @Test
    void aTargetThatNeedsNoChangeIsNotCopied() {
        String target = "/v1/payments/42?expand=true";
        PathVerdict.Normalized n = (PathVerdict.Normalized) new PathNormalizer(MERGE).normalize(target);
        assertThat(n.target()).isSameAs(target);
        assertThat(n.path()).isEqualTo("/v1/payments/42");
    }

    @Test
    void refusalsQuoteTheTargetWithControlBytesEscapedAndSayWhatToDo() {
        PathVerdict.Refused r = (PathVerdict.Refused) new PathNormalizer(MERGE).normalize("/a\r\nb");
        assertThat(r.detail()).isEqualTo("request target '/a\\x0D\\x0Ab' refused: the path holds the byte 0x0D,"
                + " which must be percent-encoded");
        PathVerdict.Refused slash = (PathVerdict.Refused) new PathNormalizer(MERGE).normalize("/a%2fb");
        assertThat(slash.detail()).isEqualTo("request target '/a%2fb' refused: '%2f' is a separator to some"
                + " backends and a character to others; this gateway's path normalization is merge-slashes");
    }

    /** Every byte inside a segment: only RFC 3986 pchar passes unencoded; the rest has a named refusal. */
    @Test
    void everyByteInASegment() {
        String pchar = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@";
        PathNormalizer normalizer = new PathNormalizer(MERGE);
        for (char c = 0; c < 256; c++) {
            String target = "/a" + c + "b";
            String expected;
            if (pchar.indexOf(c) >= 0 || c == '/') {
                expected = target;
            } else {
                expected = switch (c) {
                    case '%' -> "refused path-invalid-percent-encoding";
                    case ';' -> "refused path-path-parameters";
                    case '\\' -> "refused path-backslash";
                    case '#' -> "refused path-fragment";
                    case '?' -> target;
                    default -> "refused path-invalid-character";
                };
            }
            assertThat(outcome(normalizer.normalize(target))).as("byte 0x%02X", (int) c).isEqualTo(expected);
        }
    }

    @Test
    void modesParseFromConfigAndIstioSpelling() {
        assertThat(PathNormalization.parse("merge-slashes")).isEqualTo(PathNormalization.MERGE_SLASHES);
        assertThat(PathNormalization.parse("DECODE_AND_MERGE_SLASHES"))
                .isEqualTo(PathNormalization.DECODE_AND_MERGE_SLASHES);
        assertThat(PathNormalization.DEFAULT).isEqualTo(PathNormalization.MERGE_SLASHES);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PathNormalization.parse("strict"))
                .hasMessage("path normalization 'strict' is not one of [none, base, merge-slashes,"
                        + " decode-and-merge-slashes]");
    }
}
