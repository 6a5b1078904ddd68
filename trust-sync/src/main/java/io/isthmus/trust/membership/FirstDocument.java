package io.isthmus.trust.membership;

import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Which membership document a gateway that holds none takes (pure; no I/O, no clock; thread-safe).
 *
 * <p>A gateway that holds a document refuses any version not newer than it, so an old document replayed to it
 * changes nothing. A gateway that holds none yet (new, or restarted with an empty data dir) has nothing to compare
 * with: any genuine document, of any version, would do, including an old one that still lists a member removed since
 * (a compromised cluster, which kept that version). So such a gateway takes a document only after asking the members
 * the document lists, its seed and its configured peers what they hold ({@link Answer}), and takes the newest genuine
 * one any of them serves when it is newer than the one offered. With nobody answering it takes none: it asks again
 * every poll interval.
 */
public final class FirstDocument {
    private FirstDocument() {
    }

    /** What one member, seed or configured peer answered when asked for its document. */
    public sealed interface Answer permits Serves, HoldsNone, Silent {
        URI source();
    }

    /** It serves {@code document}, which verified here (signed by one of our roots). */
    public record Serves(URI source, SignedMembership document) implements Answer {
        public Serves {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(document, "document");
        }
    }

    /** It answered that it holds no document. */
    public record HoldsNone(URI source) implements Answer {
        public HoldsNone {
            Objects.requireNonNull(source, "source");
        }
    }

    /** It did not answer in time, failed, or served something that did not verify here. */
    public record Silent(URI source, String why) implements Answer {
        public Silent {
            Objects.requireNonNull(source, "source");
            why = why == null ? "" : why;
        }
    }

    /** The verdict. */
    public sealed interface Choice permits Take, TakeNothing {
    }

    /** Take {@code document}; {@code why} says what the answers showed, for the log. */
    public record Take(SignedMembership document, String why) implements Choice {
    }

    /** Take no document now; {@code why} names what was asked and what to do. */
    public record TakeNothing(String why) implements Choice {
    }

    /**
     * @param offered the document pushed to this gateway, if any (empty for a gateway's own poll)
     * @param answers what every source asked answered
     */
    public static Choice choose(Optional<SignedMembership> offered, List<Answer> answers) {
        Optional<Serves> newest = answers.stream().filter(Serves.class::isInstance).map(Serves.class::cast)
                .reduce((p, q) -> q.document().version() > p.document().version() ? q : p);
        if (offered.isEmpty()) {
            return newest.<Choice>map(n -> new Take(n.document(), "the newest version served, by " + n.source()))
                    .orElseGet(() -> new TakeNothing("none of " + sources(answers) + " serves a membership document"));
        }
        long version = offered.get().version();
        if (newest.isPresent() && newest.get().document().version() > version) {
            return new Take(newest.get().document(), n(newest.get()) + " serves version "
                    + newest.get().document().version() + ", newer than the offered version " + version
                    + " (an older document replayed to a gateway that held none)");
        }
        boolean answered = answers.stream().anyMatch(a -> !(a instanceof Silent));
        if (!answered) {
            return new TakeNothing("holding no document, this gateway takes an offered one (version " + version
                    + ") only once a member, its seed or a configured peer answered what it holds, and none of "
                    + sources(answers) + " did; it asks them again every poll interval (check that they are up and"
                    + " reachable from here)");
        }
        return new Take(offered.get(), "no member, seed or configured peer asked serves a newer version than "
                + version);
    }

    private static String n(Serves s) {
        return s.source().toString();
    }

    private static String sources(List<Answer> answers) {
        return answers.isEmpty() ? "the members, seed and configured peers (there are none)"
                : answers.stream().map(a -> a.source() + (a instanceof Silent s && !s.why().isEmpty()
                        ? " (" + s.why() + ")" : "")).toList().toString();
    }
}
