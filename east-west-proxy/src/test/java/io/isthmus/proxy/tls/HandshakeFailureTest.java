package io.isthmus.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.ClosedChannelException;
import java.util.stream.Stream;

import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.tls.SvidCertificateException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;

/** The label and the message of a failed handshake: the SVID's broken rule wins, and the message is printable. */
class HandshakeFailureTest {
    static Stream<Arguments> failures() {
        SvidCertificateException svid = new SvidCertificateException(SvidRejection.SIGNER_NOT_IN_BUNDLE,
                "signer of spiffe://b.example/ns/x/sa/y is not in the bundle of b.example");
        return Stream.of(
                Arguments.of("SVID rule, wrapped twice", new SSLHandshakeException("x") {
                    { initCause(new RuntimeException("outer", svid)); }
                }, "signer-not-in-bundle", svid.getMessage()),
                Arguments.of("not TLS", new NotSslRecordException("not an SSL/TLS record: 474554"), "not-tls",
                        "not an SSL/TLS record: 474554"),
                Arguments.of("timeout", new SslHandshakeTimeoutException("handshake timed out after 10000ms"),
                        "handshake-timeout", "handshake timed out after 10000ms"),
                Arguments.of("closed", new SSLHandshakeException("closed") {
                    { initCause(new ClosedChannelException()); }
                }, "closed-during-handshake", "closed"),
                Arguments.of("no client certificate (BoringSSL)",
                        new SSLHandshakeException("error:10000412:SSL routines:OPENSSL_internal:PEER_DID_NOT_RETURN_A_CERTIFICATE"),
                        "no-client-certificate",
                        "error:10000412:SSL routines:OPENSSL_internal:PEER_DID_NOT_RETURN_A_CERTIFICATE"),
                Arguments.of("innermost message wins", new SSLHandshakeException("outer") {
                    { initCause(new IllegalStateException("inner")); }
                }, "other", "inner"),
                Arguments.of("other side's text with ESC, CR, LF and C1 CSI is escaped",
                        new SSLHandshakeException("alert from \u001b[2K\r\u2713 ok\n2026 INFO forged\u009b2J"), "other",
                        "alert from \\x1B[2K\\x0D\u2713 ok\\x0A2026 INFO forged\\x9B2J"),
                Arguments.of("no message at all", new SSLHandshakeException(null), "other", "null"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void labelAndMessage(String name, Throwable cause, String reason, String message) {
        assertThat(HandshakeFailure.reason(cause)).isEqualTo(reason);
        assertThat(HandshakeFailure.message(cause)).isEqualTo(message);
    }
}
