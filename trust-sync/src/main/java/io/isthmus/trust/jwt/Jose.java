package io.isthmus.trust.jwt;

import java.util.Base64;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Shared JOSE plumbing for the signer and the validator: base64url and a strict JSON reader. */
final class Jose {
    /** Duplicate members are refused: two {@code sub} or {@code alg} members are a classic parser-confusion attack. */
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Jose() {
    }

    static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** @throws IllegalArgumentException when {@code text} is not unpadded base64url */
    static byte[] unb64(String text) {
        if (text.indexOf('=') >= 0) {
            throw new IllegalArgumentException("padding is not allowed in JWS base64url");
        }
        return Base64.getUrlDecoder().decode(text);
    }
}
