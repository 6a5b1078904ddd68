package io.isthmus.trust.testing;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Base64;

/**
 * Membership documents the product would never write: any JSON payload, signed as a JWS by any EC P-256 key
 * naming any certificate (duplicate names, unknown fields), for tests of what a verifier refuses.
 */
public final class SignedDocuments {
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    private SignedDocuments() {
    }

    public static String sign(String payloadJson, PrivateKey key, X509Certificate signer) {
        try {
            String header = "{\"alg\":\"ES256\",\"typ\":\"isthmus-membership+jws\",\"x5c\":[\""
                    + Base64.getEncoder().encodeToString(signer.getEncoded()) + "\"]}";
            String input = B64URL.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                    + B64URL.encodeToString(payloadJson.getBytes(StandardCharsets.UTF_8));
            Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
            s.initSign(key);
            s.update(input.getBytes(StandardCharsets.US_ASCII));
            return input + "." + B64URL.encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
