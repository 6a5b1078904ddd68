package io.isthmus.proxy.tls;

import java.nio.channels.ClosedChannelException;
import java.util.Locale;

import io.isthmus.trust.text.Printable;
import io.isthmus.trust.tls.SvidCertificateException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;

/** Classifies why a TLS handshake failed, as a stable metric label and an operator-readable message. */
public final class HandshakeFailure {
    public static final String NOT_TLS = "not-tls";
    public static final String NO_CLIENT_CERTIFICATE = "no-client-certificate";
    public static final String TIMEOUT = "handshake-timeout";
    public static final String CLOSED = "closed-during-handshake";
    public static final String OTHER = "other";

    private HandshakeFailure() {
    }

    /** {@code signer-not-in-bundle} etc. for SVID rejections; the constants of this class otherwise. */
    public static String reason(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof SvidCertificateException svid) {
                return svid.reason().label();
            }
            if (t instanceof NotSslRecordException) {
                return NOT_TLS;
            }
            if (t instanceof SslHandshakeTimeoutException) {
                return TIMEOUT;
            }
            if (t instanceof ClosedChannelException) {
                return CLOSED;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        String message = String.valueOf(cause.getMessage()).toUpperCase(Locale.ROOT);
        if (message.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || message.contains("CERTIFICATE_REQUIRED")
                || message.contains("EMPTY CLIENT CERTIFICATE")) {
            return NO_CLIENT_CERTIFICATE;
        }
        return OTHER;
    }

    /**
     * The innermost message, which names the broken rule for SVID rejections; {@link Printable#escape escaped}, since
     * it can quote what the other side sent and goes to the log and into refusals.
     */
    public static String message(Throwable cause) {
        return Printable.escape(innermost(cause));
    }

    private static String innermost(Throwable cause) {
        String message = cause.getMessage();
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof SvidCertificateException) {
                return t.getMessage();
            }
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return message;
    }
}
