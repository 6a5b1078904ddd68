package io.isthmus.proxy.authz.suggest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.policy.PathTemplate;

/**
 * Which segments of an observed path become {@code {*}}: ids (numbers, UUIDs, hex ids) and segments a policy cannot
 * match literally; everything else stays as observed. Every template matches the path it came from.
 */
class PathGeneralizerTest {

    static Stream<Arguments> paths() {
        return Stream.of(
                row("/", "/"),
                row("/orders", "/orders"),
                row("/orders/12345", "/orders/{*}", Generalization.NUMBER),
                row("/orders/0", "/orders/{*}", Generalization.NUMBER),
                row("/orders/12/items/34", "/orders/{*}/items/{*}", Generalization.NUMBER),
                row("/v1/orders", "/v1/orders"),
                row("/2fa/setup", "/2fa/setup"),
                row("/orders/123e4567-e89b-12d3-a456-426614174000/items", "/orders/{*}/items", Generalization.UUID),
                row("/orders/123E4567-E89B-12D3-A456-426614174000", "/orders/{*}", Generalization.UUID),
                row("/orders/123e4567-e89b-12d3-a456-42661417400", "/orders/123e4567-e89b-12d3-a456-42661417400"),
                row("/orders/123e4567-e89b-12d3-a456-42661417400g", "/orders/123e4567-e89b-12d3-a456-42661417400g"),
                row("/objects/507f1f77bcf86cd799439011", "/objects/{*}", Generalization.HEX_ID),
                row("/sha/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/sha/{*}", Generalization.HEX_ID),
                row("/blob/5F2B9C1E", "/blob/{*}", Generalization.HEX_ID),
                row("/words/deadbeefcafe", "/words/deadbeefcafe"),
                row("/words/cafe1", "/words/cafe1"),
                row("/words/ab12cd3", "/words/ab12cd3"),
                row("/words/\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17", "/words/\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17"),
                row("/a/*", "/a/{*}", Generalization.UNMATCHABLE),
                row("/a/{*}", "/a/{*}", Generalization.UNMATCHABLE),
                row("/a/b}", "/a/{*}", Generalization.UNMATCHABLE),
                row("/a/", "/a/"),
                row("//", "//"),
                row("/a/%2F/b", "/a/%2F/b"),
                row("/orders/42/", "/orders/{*}/", Generalization.NUMBER));
    }

    static Arguments row(String path, String template, Generalization... how) {
        return Arguments.of(path, template, Set.of(how));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("paths")
    void generalizesIdsOnly(String path, String template, Set<Generalization> how) {
        PathGeneralizer.GeneralizedPath g = PathGeneralizer.generalize(path);
        assertThat(g.template()).isEqualTo(template);
        assertThat(g.generalizations()).isEqualTo(how);
        assertThat(PathTemplate.error(g.template())).as("a valid template").isNull();
        assertThat(PathTemplate.matches(g.template(), path)).as("matches what it came from").isTrue();
    }

    @Test
    void aPathOfTenThousandSegmentsKeepsSixtyFourAndCoversTheRest() {
        String path = "/a".repeat(10_000);
        PathGeneralizer.GeneralizedPath g = PathGeneralizer.generalize(path);
        assertThat(g.segments()).hasSize(PathGeneralizer.MAX_SEGMENTS + 1).endsWith(PathTemplate.REST);
        assertThat(g.generalizations()).containsExactly(Generalization.DEEP);
        assertThat(PathTemplate.matches(g.template(), path)).isTrue();
        assertThat(PathTemplate.matches(g.template(), "/a".repeat(64))).as("not shallower paths").isFalse();

        String ids = "/1".repeat(10_000);
        assertThat(PathGeneralizer.generalize(ids).template()).isEqualTo("/{*}".repeat(64) + "/{**}");
    }

    @Test
    void sixtyFourSegmentsStayAsTheyAreAndATrailingSlashAfterThemIsKept() {
        String path = "/a".repeat(64);
        assertThat(PathGeneralizer.generalize(path).template()).isEqualTo(path);
        PathGeneralizer.GeneralizedPath slash = PathGeneralizer.generalize(path + "/");
        assertThat(slash.template()).isEqualTo(path + "/");
        assertThat(PathTemplate.matches(slash.template(), path + "/")).isTrue();
    }

    @Test
    void refusesARelativePath() {
        assertThatThrownBy(() -> PathGeneralizer.generalize("orders/1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not start with '/'");
    }
}
