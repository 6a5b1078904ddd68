package io.isthmus.proxy.http.path;

import java.util.Locale;

/** Why a request path is refused (400) before policy: each a path backends would read differently from policy. */
public enum PathRefusal {
    /** Not a path starting with {@code /} (and not {@code *}): only origin-form targets are routed. */
    NOT_ORIGIN_FORM,
    /** A {@code %} not followed by two hex digits. */
    INVALID_PERCENT_ENCODING,
    /** {@code %2F}: some backends decode it into a separator, others keep it inside a segment. */
    ENCODED_SLASH,
    /** {@code %5C}: an encoded backslash, a separator to some backends. */
    ENCODED_BACKSLASH,
    /** {@code \}: a separator to some backends, a character to others. */
    BACKSLASH,
    /** {@code ;}: Tomcat and Spring drop {@code ;params} from a segment, nginx and Go keep them. */
    PATH_PARAMETERS,
    /** {@code #}: a fragment never belongs in a request target. */
    FRAGMENT,
    /** A character that must be percent-encoded in a path or query (control, space, non-ASCII, {@code "<>^`{|}}). */
    INVALID_CHARACTER;

    /** {@code encoded-slash}: the code in the 400 body, {@code x-isthmus-reason} and metrics. */
    public String code() {
        return "path-" + name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
