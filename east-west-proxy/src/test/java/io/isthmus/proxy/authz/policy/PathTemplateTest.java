package io.isthmus.proxy.authz.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Path templates as Istio writes them ({@code {*}} one segment, {@code {**}} the rest): what they match, and the
 * templates refused. Istio's examples: "/foo/{*}" matches "/foo/bar" but not "/foo/bar/baz"; "/foo/{**}/" is invalid
 * ({@code {**}} must be last here); "/foo/{*}/bar" matches "/foo/buzz/bar".
 */
class PathTemplateTest {

    static Stream<Arguments> matches() {
        return Stream.of(
                Arguments.of("/foo/{*}", "/foo/bar", true),
                Arguments.of("/foo/{*}", "/foo/bar/baz", false),
                Arguments.of("/foo/{*}", "/foo/", false),
                Arguments.of("/foo/{*}", "/foo", false),
                Arguments.of("/foo/{*}/bar", "/foo/buzz/bar", true),
                Arguments.of("/foo/{*}/bar", "/foo//bar", false),
                Arguments.of("/foo/{*}/bar", "/foo/a/b/bar", false),
                Arguments.of("/foo/{*}/bar", "/foo/buzz/bar/", false),
                Arguments.of("/foo/{**}", "/foo/bar/baz", true),
                Arguments.of("/foo/{**}", "/foo/bar", true),
                Arguments.of("/foo/{**}", "/foo/", false),
                Arguments.of("/foo/{**}", "/foo", false),
                Arguments.of("/foo/{**}", "/foobar/x", false),
                Arguments.of("/{*}", "/x", true),
                Arguments.of("/{*}", "/", false),
                Arguments.of("/{**}", "/a/b", true),
                Arguments.of("/orders/{*}/items/{*}", "/orders/1/items/2", true),
                Arguments.of("/orders/{*}/items/{*}", "/orders/1/items", false),
                Arguments.of("/Orders/{*}", "/orders/1", false),
                Arguments.of("/a/{*}", "a/b", false),
                Arguments.of("/a/{*}", "", false),
                Arguments.of("/a/{*}", "/a/%2F", true),
                Arguments.of("/a/", "/a/", true),
                Arguments.of("/a/", "/a", false));
    }

    @ParameterizedTest(name = "{0} vs {1}: {2}")
    @MethodSource("matches")
    void matchesWholeSegments(String template, String path, boolean expected) {
        assertThat(PathTemplate.error(template)).isNull();
        assertThat(PathTemplate.matches(template, path)).isEqualTo(expected);
        assertThat(StringMatch.pathTemplate(template).matches(path)).isEqualTo(expected);
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("{*}", "must start with '/'"),
                Arguments.of("/foo/{**}/", "'{**}' must be the last segment"),
                Arguments.of("/foo/{**}/bar", "'{**}' must be the last segment"),
                Arguments.of("/foo{*}", "segment \"foo{*}\""),
                Arguments.of("/foo/{*}x", "segment \"{*}x\""),
                Arguments.of("/foo/{x}", "segment \"{x}\""),
                Arguments.of("/foo/{***}", "segment \"{***}\""),
                Arguments.of("/foo/*/{*}", "segment \"*\""),
                Arguments.of("/foo/}", "segment \"}\""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void refusesWhatIsNotATemplate(String template, String expected) {
        assertThat(PathTemplate.isTemplate(template) || template.contains("*")).isTrue();
        assertThat(PathTemplate.error(template)).contains(expected);
    }

    @Test
    void aTenThousandSegmentPathIsMatchedWithoutRecursion() {
        String deep = "/a".repeat(10_000);
        assertThat(PathTemplate.matches("/a/{**}", deep)).isTrue();
        assertThat(PathTemplate.matches("/a/{*}", deep)).isFalse();
        assertThat(PathTemplate.matches("/{*}" .repeat(10_000), deep)).isTrue();
    }
}
