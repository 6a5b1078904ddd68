package io.isthmus.gateway.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;

/**
 * RestAssured requests for the API port's guarded reads ({@code /v1/services}, {@code /v1/bundles}): over TLS, as the
 * bootstrap admin of the test profile ({@code isthmus.admin.bootstrap-token-file=target/test-admin-token}). The
 * gateway's certificate is an SVID with no host name, so the client does not check it: these tests are about what the
 * API answers, not about who serves it (RegistryReadAccessTest authenticates the gateway).
 */
public final class ApiReads {
    public static final String ADMIN_TOKEN = "test-bootstrap-admin-token-0123456789abcdef";

    private ApiReads() {
    }

    /** @param https the TLS root of the app under test ({@code @TestHTTPResource(value = "/", tls = true)}) */
    public static RequestSpecification asAdmin(URL https) {
        try {
            Files.writeString(Path.of("target/test-admin-token"), ADMIN_TOKEN + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return RestAssured.given().baseUri("https://" + https.getHost()).port(https.getPort()).relaxedHTTPSValidation()
                .header("Authorization", "Bearer " + ADMIN_TOKEN);
    }
}
