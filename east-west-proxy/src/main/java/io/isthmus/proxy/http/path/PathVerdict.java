package io.isthmus.proxy.http.path;

import java.util.Objects;

/** What {@link PathNormalizer} made of a request target. */
public sealed interface PathVerdict {

    /**
     * @param path   the normalized path without the query: what policy matches
     * @param target what is forwarded: {@code path}, then the query (unchanged) when there was one
     */
    record Normalized(String path, String target) implements PathVerdict {
        public Normalized {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(target, "target");
            if (!target.startsWith(path) || target.length() > path.length() && target.charAt(path.length()) != '?') {
                throw new IllegalArgumentException("target '" + target + "' is not path '" + path + "' plus a query");
            }
        }
    }

    /** {@code detail} quotes the target and says what to send instead. */
    record Refused(PathRefusal reason, String detail) implements PathVerdict {
        public Refused {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }
    }
}
