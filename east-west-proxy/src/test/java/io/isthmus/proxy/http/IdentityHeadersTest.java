package io.isthmus.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;

/** {@link IdentityHeaders}: the names a backend may read as an identity header, and stripping all of them. */
class IdentityHeadersTest {

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "x-forwarded-client-cert, true", "X-Forwarded-Client-Cert, true", "x_forwarded_client_cert, true",
        "X_FORWARDED-CLIENT_CERT, true", "x-isthmus-caller, true", "x_isthmus_caller, true", "X_Isthmus_Caller, true",
        "x-forwarded-client-certs, false", "x-forwarded-client-cer, false", "xforwardedclientcert, false",
        "x.forwarded.client.cert, false", "x-isthmus-callers, false", "x-isthmus-reason, false", "authorization, false",
    })
    void namesAnIdentityHeaderInAnySpellingABackendMayRead(String name, boolean identity) {
        assertThat(IdentityHeaders.isIdentity(name)).isEqualTo(identity);
    }

    @Test
    void stripRemovesEverySpellingAndKeepsTheRest() {
        HttpHeaders h = new DefaultHttpHeaders(false).add("x-forwarded-client-cert", "a").add("X_Forwarded_Client_Cert", "b")
                .add("x_isthmus_caller", "c").add("X-Isthmus-Caller", "d").add("accept", "*/*")
                .add("x_request_id", "7");
        IdentityHeaders.strip(h);
        assertThat(h.names()).map(n -> n.toLowerCase(Locale.ROOT)).containsExactlyInAnyOrder("accept", "x_request_id");
    }
}
