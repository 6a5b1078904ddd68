package io.isthmus.trust.membership;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What a gateway that holds no membership document takes, row by row: the document offered (pushed), the newest one a
 * member, seed or configured peer serves instead, or none while nobody answered.
 */
class FirstDocumentTest {
    private static final URI A = URI.create("https://gw-a:8443/");
    private static final URI B = URI.create("https://gw-b:8443/");
    private static final URI X = URI.create("https://gw-x:8443/");

    private static SignedMembership v(long version) {
        return ((MembershipVerdict.Accepted) new MembershipVerifier().verify(
                MembershipVerifierTest.signedByRoot(MembershipVerifierTest.three(version)), MembershipVerifierTest.roots(),
                OptionalLong.empty())).document();
    }

    private static FirstDocument.Answer serves(URI source, long version) {
        return new FirstDocument.Serves(source, v(version));
    }

    private static FirstDocument.Answer none(URI source) {
        return new FirstDocument.HoldsNone(source);
    }

    private static FirstDocument.Answer silent(URI source) {
        return new FirstDocument.Silent(source, "connect timed out");
    }

    /** offered version (0: none, a poll), answers, version taken (0: none). */
    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("an old document replayed: a member serves a newer one", 1, List.of(serves(X, 1),
                        serves(A, 2)), 2),
                Arguments.of("the newest of several served wins", 3, List.of(serves(A, 5), serves(B, 4)), 5),
                Arguments.of("the offered one is the newest served", 2, List.of(serves(A, 2), silent(B)), 2),
                Arguments.of("the offered one is newer than a lagging member's", 4, List.of(serves(A, 3)), 4),
                Arguments.of("members hold none yet (a static federation's first document)", 1, List.of(none(A),
                        none(B)), 1),
                Arguments.of("one member answered, the others are down", 2, List.of(silent(A), none(B)), 2),
                Arguments.of("nobody answered", 1, List.of(silent(A), silent(B)), 0),
                Arguments.of("nobody to ask", 1, List.of(), 0),
                Arguments.of("a poll: the newest served", 0, List.of(serves(X, 1), serves(A, 2), silent(B)), 2),
                Arguments.of("a poll: nobody holds one", 0, List.of(none(A), silent(B)), 0),
                Arguments.of("a poll: nobody answered", 0, List.of(silent(A)), 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void choosesTheNewestItCanConfirm(String row, long offered, List<FirstDocument.Answer> answers, long taken) {
        Optional<SignedMembership> offer = offered == 0 ? Optional.empty() : Optional.of(v(offered));
        FirstDocument.Choice c = FirstDocument.choose(offer, answers);

        if (taken == 0) {
            assertThat(c).isInstanceOf(FirstDocument.TakeNothing.class);
            FirstDocument.TakeNothing n = (FirstDocument.TakeNothing) c;
            answers.forEach(a -> assertThat(n.why()).contains(a.source().toString()));
            if (offer.isPresent()) {
                assertThat(n.why()).contains("version " + offered).contains("asks them again every poll interval");
            }
        } else {
            assertThat(c).isInstanceOf(FirstDocument.Take.class);
            FirstDocument.Take t = (FirstDocument.Take) c;
            assertThat(t.document().version()).isEqualTo(taken);
            if (offer.isPresent() && taken == offered) {
                assertThat(t.document()).isSameAs(offer.get());
            }
            if (offer.isPresent() && taken > offered) {
                assertThat(t.why()).contains("serves version " + taken).contains("older document replayed");
            }
        }
    }
}
