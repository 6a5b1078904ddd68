package io.isthmus.proxy.http.path;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import io.isthmus.trust.testing.FuzzTarget;

/**
 * A request target is attacker-chosen bytes. For every mode that normalizes, the normalizer either refuses with a
 * typed reason or yields a path that is already normal: normalizing it again changes nothing (else policy and backend
 * could still read it differently), it has no dot segment and, merging slashes, no empty segment; and the forwarded
 * target is that path plus the untouched query.
 */
class PathNormalizerFuzzTest {
    private static final PathNormalization[] MODES = {PathNormalization.BASE, PathNormalization.MERGE_SLASHES,
            PathNormalization.DECODE_AND_MERGE_SLASHES};

    @FuzzTarget
    void normalize(byte[] input) {
        if (input.length == 0) {
            return;
        }
        PathNormalization mode = MODES[Math.floorMod(input[0], MODES.length)];
        String target = new String(input, 1, input.length - 1, StandardCharsets.ISO_8859_1);
        PathNormalizer normalizer = new PathNormalizer(mode);
        PathVerdict verdict = normalizer.normalize(target);
        if (verdict instanceof PathVerdict.Refused refused) {
            assertThat(refused.detail()).isNotBlank();
            return;
        }
        PathVerdict.Normalized normalized = (PathVerdict.Normalized) verdict;
        String path = normalized.path();
        int q = target.indexOf('?');
        assertThat(normalized.target()).as("the forwarded target of %s", target)
                .isEqualTo(q < 0 ? path : path + target.substring(q));
        if (path.equals("*")) {
            return;
        }
        assertThat(normalizer.normalize(path)).as("normalizing %s twice (%s)", target, mode)
                .isEqualTo(new PathVerdict.Normalized(path, path));
        assertThat(path).as("%s (%s)", target, mode).startsWith("/").doesNotContain("/./").doesNotContain("/../")
                .doesNotEndWith("/.").doesNotEndWith("/..");
        if (mode != PathNormalization.BASE) {
            assertThat(path).as("%s (%s)", target, mode).doesNotContain("//");
        }
    }
}
