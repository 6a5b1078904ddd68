package io.isthmus.integration.support;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

/**
 * The fabric8 mock API server's CRUD dispatcher, plus what a real API server does that the Terraform provider trips
 * over and the CRUD mock leaves out: a Secret's {@code stringData} is write-only (merged into {@code data}, base64,
 * and never returned). The mock already drops {@code status} on writes to a custom resource whose CRD declares the
 * status subresource.
 */
public final class ApiServerSemantics extends KubernetesCrudDispatcher {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SECRETS = Pattern.compile("^/api/v1/namespaces/[^/]+/secrets(/[^/?]+)?(\\?.*)?$");

    @Override
    public MockResponse handleCreate(RecordedRequest request) {
        return super.handleCreate(secretsAsStored(request));
    }

    @Override
    public MockResponse handleUpdate(RecordedRequest request) {
        return super.handleUpdate(secretsAsStored(request));
    }

    /** A request whose Secret body has its stringData folded into data, as the API server stores it. */
    private static RecordedRequest secretsAsStored(RecordedRequest request) {
        if (!SECRETS.matcher(request.getPath()).matches() || request.getBody() == null) {
            return request;
        }
        try {
            // Reading the body consumes it: every path below hands on a new request.
            byte[] bytes = request.getBody().readByteArray();
            JsonNode body = JSON.readTree(bytes);
            if (!(body instanceof ObjectNode secret) || !secret.has("stringData")) {
                return copy(request, bytes);
            }
            ObjectNode data = secret.has("data") ? (ObjectNode) secret.get("data") : secret.putObject("data");
            for (Iterator<Map.Entry<String, JsonNode>> it = secret.get("stringData").fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                data.put(e.getKey(), Base64.getEncoder().encodeToString(e.getValue().asText().getBytes(StandardCharsets.UTF_8)));
            }
            secret.remove("stringData");
            return copy(request, JSON.writeValueAsBytes(secret));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("the mock API server cannot read a Secret request body", e);
        }
    }

    private static RecordedRequest copy(RecordedRequest request, byte[] body) {
        return new RecordedRequest(request.getHttpVersion(), request.method(), request.getPath(), request.getHeaders(),
                new Buffer(body));
    }
}
