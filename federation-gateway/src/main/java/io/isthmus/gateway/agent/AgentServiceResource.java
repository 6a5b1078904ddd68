package io.isthmus.gateway.agent;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.api.ApiError;
import io.isthmus.gateway.enrolment.EnrolmentException;
import io.isthmus.gateway.enrolment.EnrolmentService;
import io.isthmus.registry.Protocol;
import io.isthmus.trust.spiffe.SpiffeId;
import io.vertx.core.http.HttpServerRequest;

/**
 * The VM agent's service registration on the gateway's TLS port: {@code PUT /v1/agent/services/{name}}
 * {namespace, port, protocol, backendPort} creates or renews (heartbeat) a registration, {@code DELETE
 * /v1/agent/services/{name}?namespace=…} removes it. The caller is authenticated by its SVID over mutual TLS
 * exactly as renewal does (an enrolled, unrevoked VM identity of this trust domain); the namespace must be the
 * identity's own; the backend is the TLS connection's source address plus {@code backendPort}. Errors are
 * {@link ApiError} with a stable code.
 */
@Path("/v1/agent/services")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class AgentServiceResource {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NS = Pattern.compile("/ns/([^/]+)/sa/[^/]+");

    @Inject
    EnrolmentService enrolment;

    @Inject
    VmServiceRegistry services;

    @Context
    HttpServerRequest request;

    /** The answer to a registration: what is stored and until when. */
    public record Registered(String name, String namespace, int port, String protocol, String backend, String identity,
            String expiresAt) {
    }

    @PUT
    @Path("/{name}")
    public Response put(@PathParam("name") String name, String body) {
        try {
            SpiffeId vm = authenticate("service.register");
            JsonNode json = parse(body);
            String namespace = requiredText(json, "namespace");
            requireOwnNamespace(vm, namespace);
            int backendPort = port(json, "backendPort", -1);
            int port = port(json, "port", backendPort);
            Protocol protocol;
            try {
                protocol = Protocol.parse(json.path("protocol").asText("http"));
            } catch (IllegalArgumentException e) {
                throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, e.getMessage());
            }
            String host = request.remoteAddress().hostAddress();
            VmServiceRecord r;
            try {
                r = services.register(new VmServiceRecord.Request(namespace, name, port, protocol, host, backendPort, vm));
            } catch (IllegalArgumentException e) {
                throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, e.getMessage());
            }
            return Response.ok(new Registered(r.name(), r.namespace(), r.port(), r.protocol().name().toLowerCase(
                    java.util.Locale.ROOT), r.backendHost() + ":" + r.backendPort(), r.owner().toString(),
                    r.expiresAt().toString())).build();
        } catch (EnrolmentException e) {
            return ApiError.response(e.error().status(), e.error().code(), e.getMessage());
        } catch (VmServiceException e) {
            return ApiError.response(e.code().status(), e.code().code(), e.getMessage());
        }
    }

    @DELETE
    @Path("/{name}")
    public Response delete(@PathParam("name") String name, @jakarta.ws.rs.QueryParam("namespace") String namespace) {
        try {
            SpiffeId vm = authenticate("service.unregister");
            if (namespace == null || namespace.isBlank()) {
                throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, "query parameter 'namespace' is required");
            }
            requireOwnNamespace(vm, namespace);
            if (!services.unregister(vm, namespace, name)) {
                throw new VmServiceException(VmServiceException.Code.NOT_FOUND, namespace + "/" + name + " is not registered");
            }
            return Response.noContent().build();
        } catch (EnrolmentException e) {
            return ApiError.response(e.error().status(), e.error().code(), e.getMessage());
        } catch (VmServiceException e) {
            return ApiError.response(e.code().status(), e.code().code(), e.getMessage());
        }
    }

    private SpiffeId authenticate(String action) {
        String source = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
        if (!request.isSSL()) {
            return enrolment.authenticateEnrolledVm(action, source, List.of());
        }
        List<X509Certificate> chain = new ArrayList<>();
        SSLSession session = request.sslSession();
        try {
            if (session != null) {
                for (Certificate c : session.getPeerCertificates()) {
                    if (c instanceof X509Certificate x) {
                        chain.add(x);
                    }
                }
            }
        } catch (SSLPeerUnverifiedException e) {
            // no client certificate: refused below
        }
        return enrolment.authenticateEnrolledVm(action, source, chain);
    }

    static void requireOwnNamespace(SpiffeId vm, String namespace) {
        Matcher m = NS.matcher(vm.path());
        String own = m.matches() ? m.group(1) : "";
        if (!own.equals(namespace)) {
            throw new VmServiceException(VmServiceException.Code.NAMESPACE_MISMATCH, vm + " may register services in "
                    + "its own namespace '" + own + "' only, not in '" + namespace + "'");
        }
    }

    private static JsonNode parse(String body) {
        if (body == null || body.isBlank()) {
            throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, "the request body is empty; send a JSON object");
        }
        try {
            JsonNode json = JSON.readTree(body);
            if (json == null || !json.isObject()) {
                throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, "the request body is not a JSON object");
            }
            return json;
        } catch (JsonProcessingException e) {
            throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, "the request body is not JSON: "
                    + e.getOriginalMessage());
        }
    }

    private static String requiredText(JsonNode json, String field) {
        JsonNode v = json.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, "field '" + field + "' must be a non-empty string");
        }
        return v.asText();
    }

    private static int port(JsonNode json, String field, int fallback) {
        JsonNode v = json.get(field);
        if (v == null || v.isNull()) {
            if (fallback > 0) {
                return fallback;
            }
            throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, "field '" + field + "' is required");
        }
        if (!v.canConvertToInt() || v.asInt() < 1 || v.asInt() > 65535) {
            throw new VmServiceException(VmServiceException.Code.INVALID_REQUEST, "field '" + field + "' must be a port in 1-65535");
        }
        return v.asInt();
    }
}
