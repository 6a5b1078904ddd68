package io.isthmus.trust.membership;

import java.util.List;

/** What {@link MembershipVerifier} decided about a document. */
public sealed interface MembershipVerdict {
    /** Take it: it is the root's, newer than what is held, and well formed. */
    record Accepted(SignedMembership document, List<String> warnings) implements MembershipVerdict {
        public Accepted {
            warnings = List.copyOf(warnings);
        }
    }

    /** Do not take it; the membership held stays in force. */
    record Refused(MembershipRefusal reason, String message) implements MembershipVerdict {
    }
}
