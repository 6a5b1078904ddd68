package io.isthmus.proxy.http.validate;

import io.isthmus.proxy.http.Ascii;

/**
 * Names why the HTTP decoder could not read a request. Netty reports its own refusals (two Content-Lengths, a bare
 * LF, an oversized line) as exceptions that differ only in type and message; this maps them to
 * {@link RequestRefusal}s so that every refusal a client sees has a stable code. Pure.
 */
public final class DecoderFailures {
    private DecoderFailures() {
    }

    /** The refusal for a request whose decoding failed with {@code cause}. */
    public static RequestVerdict.Invalid classify(Throwable cause) {
        if (cause instanceof InvalidRequestException refused) {
            return refused.verdict();
        }
        String message = cause == null || cause.getMessage() == null ? String.valueOf(cause) : cause.getMessage();
        String type = cause == null ? "" : cause.getClass().getSimpleName();
        RequestRefusal reason = switch (type) {
            case "TooLongHttpLineException" -> RequestRefusal.REQUEST_LINE_TOO_LONG;
            case "TooLongHttpHeaderException" -> RequestRefusal.HEADER_TOO_LARGE;
            case "InvalidLineSeparatorException" -> RequestRefusal.BARE_LINE_FEED;
            case "NumberFormatException" -> RequestRefusal.INVALID_CHUNK;
            default -> byMessage(message);
        };
        return new RequestVerdict.Invalid(reason, Ascii.printable(message));
    }

    private static RequestRefusal byMessage(String message) {
        if (message.startsWith("Multiple Content-Length")) {
            return RequestRefusal.MULTIPLE_CONTENT_LENGTH;
        }
        if (message.startsWith("Content-Length value") || message.startsWith("Invalid content length")) {
            return RequestRefusal.INVALID_CONTENT_LENGTH;
        }
        if (message.startsWith("invalid version format") || message.startsWith("Illegal character in HTTP Method")
                || message.startsWith("text is empty") || message.startsWith("Invalid separator")) {
            return RequestRefusal.MALFORMED_REQUEST_LINE;
        }
        if (message.startsWith("empty headers are not allowed")) {
            return RequestRefusal.INVALID_HEADER_NAME;
        }
        return RequestRefusal.MALFORMED_REQUEST;
    }
}
