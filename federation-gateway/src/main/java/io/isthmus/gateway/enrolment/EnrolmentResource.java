package io.isthmus.gateway.enrolment;

import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.api.ApiError;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.x509.Pem;
import io.vertx.core.http.HttpServerRequest;

/**
 * The VM agent's API on the gateway's TLS port: {@code POST /v1/enrol} {token, csr} and {@code POST /v1/renew}
 * {csr} (authenticated by the VM's current SVID as TLS client certificate). Both answer with the SVID chain and
 * the bundles of every federated trust domain, or {@link ApiError} with a stable code. {@code GET /v1/agent/trust}
 * answers the bundles, the serial of the CA that signs now and how often to ask again: an agent whose SVID was
 * signed by another CA (one a rotation is retiring) renews early. It needs no client certificate: bundles are public,
 * and the gateway's SVID authenticates the answer.
 */
@Path("/v1")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class EnrolmentResource {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final BundleCodec CODEC = new BundleCodec();

    @Inject
    EnrolmentService service;

    @Context
    HttpServerRequest request;

    /** The answer to a successful enrolment or renewal. {@code bundles} maps trust domain to SPIFFE bundle JSON. */
    public record SvidResponse(String spiffeId, String svidChain, String notAfter, String renewAfter,
            Map<String, JsonNode> bundles) {
    }

    @POST
    @Path("/enrol")
    public Response enrol(String body) {
        return issue(body, (peer, json) -> service.enrol(peer.address(), text(json, "token"), text(json, "csr")));
    }

    /** Over TLS only: parses the body, issues, and answers the SVID or the refusal. */
    private Response issue(String body, java.util.function.BiFunction<HttpPeer, JsonNode, IssuedSvid> issuer) {
        HttpPeer peer = HttpPeer.of(request);
        try {
            peer.requireTls();
            return ok(issuer.apply(peer, parseBody(body)));
        } catch (EnrolmentException e) {
            return error(e);
        }
    }

    @POST
    @Path("/renew")
    public Response renew(String body) {
        return issue(body, (peer, json) -> service.renew(peer.address(), peer.chain(), text(json, "csr")));
    }

    /**
     * {@code POST /v1/agent/workload-svid} {spiffeId, csr}: an SVID for a workload on the calling agent's VM (its own
     * ID or one under its path), authenticated by the agent's current SVID as TLS client certificate.
     */
    @POST
    @Path("/agent/workload-svid")
    public Response workloadSvid(String body) {
        return issue(body, (peer, json) -> service.issueForWorkload(peer.address(), peer.chain(), text(json, "spiffeId"),
                text(json, "csr")));
    }

    /** What an agent polls between renewals (see the class comment). */
    public record AgentTrust(String signer, long refreshSeconds, Map<String, JsonNode> bundles) {
    }

    @jakarta.ws.rs.GET
    @Path("/agent/trust")
    public Response agentTrust() {
        io.isthmus.trust.runtime.TrustRuntime rt = service.trust();
        return Response.ok(new AgentTrust(io.isthmus.trust.x509.Certificates.serialHex(rt.ca().current().certificate()),
                rt.settings().rotation().agentRefresh().toSeconds(), bundles(rt.store().snapshot()))).build();
    }

    public static JsonNode parseBody(String body) {
        if (body == null || body.isBlank()) {
            throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, "the request body is empty; send a JSON object");
        }
        if (body.length() > 64 * 1024) {
            throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, "the request body is larger than 64 KiB");
        }
        try {
            JsonNode json = MAPPER.readTree(body);
            if (json == null || !json.isObject()) {
                throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, "the request body is not a JSON object");
            }
            return json;
        } catch (JsonProcessingException e) {
            throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, "the request body is not JSON: "
                    + e.getOriginalMessage());
        }
    }

    static String text(JsonNode json, String field) {
        JsonNode v = json.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, "field '" + field + "' must be a string");
        }
        return v.asText();
    }

    static Response ok(IssuedSvid issued) {
        X509Certificate leaf = issued.leaf();
        Map<String, JsonNode> bundles = bundles(issued.bundles());
        long half = (leaf.getNotAfter().getTime() - leaf.getNotBefore().getTime()) / 2;
        return Response.ok(new SvidResponse(issued.id().toString(), Pem.write(issued.chain().toArray()),
                leaf.getNotAfter().toInstant().toString(),
                java.time.Instant.ofEpochMilli(leaf.getNotBefore().getTime() + half).toString(), bundles)).build();
    }

    private static Map<String, JsonNode> bundles(io.isthmus.trust.bundle.BundleSet set) {
        Map<String, JsonNode> bundles = new LinkedHashMap<>();
        for (TrustBundle b : set.bundles().values().stream()
                .sorted(java.util.Comparator.comparing(TrustBundle::trustDomain)).toList()) {
            try {
                bundles.put(b.trustDomain().name(), MAPPER.readTree(CODEC.toJson(b)));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        return bundles;
    }

    static Response error(EnrolmentException e) {
        Response r = ApiError.response(e.error().status(), e.error().code(), e.getMessage());
        if (e.retryAfter().isPresent()) {
            return Response.fromResponse(r).header("Retry-After", Math.max(1, e.retryAfter().get().toSeconds() + 1)).build();
        }
        return r;
    }
}
