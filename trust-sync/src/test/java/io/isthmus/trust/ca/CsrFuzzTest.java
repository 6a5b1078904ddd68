package io.isthmus.trust.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;

import io.isthmus.trust.testing.FuzzTarget;

/**
 * A VM sends a PKCS#10 request (PEM or DER) with its join token or renewal. Whatever the bytes, the CA either
 * refuses it with a {@link CsrException} or returns a key it accepts for an SVID: ECDSA P-256 or RSA of at least
 * 2048 bits, proven held by the request's own signature.
 */
class CsrFuzzTest {

    @FuzzTarget
    void verifiedKey(byte[] input) {
        PublicKey key;
        try {
            key = SvidIssuer.verifiedKey(input);
        } catch (CsrException e) {
            assertThat(e.error()).isNotNull();
            return;
        }
        if (key instanceof ECPublicKey ec) {
            assertThat(ec.getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        } else {
            assertThat(key).isInstanceOfSatisfying(RSAPublicKey.class,
                    rsa -> assertThat(rsa.getModulus().bitLength()).isGreaterThanOrEqualTo(2048));
        }
    }
}
