package io.isthmus.proxy.http.validate;

import java.util.Locale;

/**
 * Why a listener refused a request before reading it as a request: the request is ambiguous (two framings, two
 * hosts: one reader would see another request than the next, which is how smuggling works) or malformed. Each is
 * answered with its status and code, and the connection is closed.
 */
public enum RequestRefusal {
    /** Both {@code Content-Length} and {@code Transfer-Encoding}: which one frames the body is the smuggler's bet. */
    CONTENT_LENGTH_WITH_TRANSFER_ENCODING(400),
    /** More than one {@code Content-Length} (even equal ones, or a list). */
    MULTIPLE_CONTENT_LENGTH(400),
    /** A {@code Content-Length} that is not a non-negative decimal number. */
    INVALID_CONTENT_LENGTH(400),
    /** A {@code Transfer-Encoding} other than exactly {@code chunked} (its last coding must be chunked, and no other is supported). */
    TRANSFER_ENCODING_NOT_CHUNKED(400),
    /** A header line continued on the next line (obs-fold, RFC 9112 section 5.2): readers unfold it differently. */
    OBS_FOLD(400),
    /** A header value holding a control character (NUL, CR, LF, ...; HTAB is allowed). */
    CONTROL_CHARACTER_IN_HEADER(400),
    /** A header name that is not an RFC 9110 token (control characters, spaces, separators, empty). */
    INVALID_HEADER_NAME(400),
    /** Whitespace between a header name and its colon (RFC 9112 section 5.1 requires rejecting it). */
    WHITESPACE_BEFORE_COLON(400),
    /** An HTTP/1.1 request without a {@code Host} (or an HTTP/2 request without {@code :authority} or host). */
    MISSING_HOST(400),
    /** More than one {@code Host}, or {@code :authority} and {@code host} that differ. */
    MULTIPLE_HOST(400),
    /** A {@code Host} that is not {@code host[:port]}. */
    INVALID_HOST(400),
    /** {@code user@host} in {@code Host} or in an absolute-form target: userinfo is never sent in HTTP. */
    USERINFO_IN_HOST(400),
    /** An absolute-form target whose authority is not the {@code Host} header. */
    HOST_MISMATCH(400),
    /** A request target holding a control character, a space or a non-ASCII byte. */
    INVALID_REQUEST_TARGET(400),
    /**
     * A method with lower-case letters ({@code delete}, {@code Get}). Methods are case-sensitive (RFC 9110 section 9.1)
     * and policy names only upper-case ones, yet some backends upper-case the method they read: {@code delete} went
     * past a DENY on {@code DELETE} and was served as one.
     */
    LOWER_CASE_METHOD(400),
    /** A request line that is not {@code method SP target SP HTTP/x.y}. */
    MALFORMED_REQUEST_LINE(400),
    /** An HTTP/2 request without {@code :method}, or without {@code :scheme} or {@code :path} (unless CONNECT). */
    MISSING_PSEUDO_HEADER(400),
    /** An HTTP/2 {@code :scheme} other than http and https. */
    INVALID_SCHEME(400),
    /** An HTTP version other than 1.0 and 1.1 on an HTTP/1 connection. */
    UNSUPPORTED_HTTP_VERSION(505),
    /** A line ended by LF without CR. */
    BARE_LINE_FEED(400),
    /** A chunk size line that is not hex digits. */
    INVALID_CHUNK(400),
    /** A request line longer than the gateway reads (RFC 9112 requires 414 here). */
    REQUEST_LINE_TOO_LONG(414),
    /** Headers larger than {@code max-header-size}. */
    HEADER_TOO_LARGE(431),
    /** Anything else the HTTP decoder could not read. */
    MALFORMED_REQUEST(400);

    private final int status;

    RequestRefusal(int status) {
        this.status = status;
    }

    /** The HTTP status of the refusal: 400 unless HTTP names a more precise one. */
    public int status() {
        return status;
    }

    /** {@code content-length-with-transfer-encoding}: the code in the body, {@code x-isthmus-reason} and metrics. */
    public String code() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
