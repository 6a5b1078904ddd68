package io.isthmus.gateway.jwt;

import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.api.ApiError;
import io.isthmus.gateway.enrolment.AgentSubjects;
import io.isthmus.gateway.enrolment.EnrolmentException;
import io.isthmus.gateway.enrolment.EnrolmentService;
import io.isthmus.gateway.enrolment.HttpPeer;
import io.isthmus.trust.jwt.JwtSvid;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;
import io.vertx.core.http.HttpServerRequest;

/**
 * {@code POST /v1/agent/jwt-svid} {@code {"audience": ["..."], "spiffeId": "..."}}: a JWT-SVID signed by this
 * cluster's JWT authority, for an enrolled VM agent authenticated by its current SVID as TLS client certificate.
 * {@code spiffeId} defaults to the agent's own; any other must lie under the agent's path
 * ({@link AgentSubjects#mayIssue}). Its lifetime is {@code isthmus.jwt.svid-ttl}, or less so as to end with the grace
 * while this replica is cut off ({@link EnrolmentService#signingTtl(java.time.Duration)}). Answers
 * {@code {"spiffeId", "token", "expiresAt"}} or an {@link ApiError}.
 */
@Path("/v1/agent/jwt-svid")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class JwtSvidResource {
    private static final Logger LOG = Logger.getLogger(JwtSvidResource.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int MAX_AUDIENCES = 16;
    private static final int MAX_AUDIENCE_CHARS = 256;

    @Inject
    EnrolmentService enrolment;

    @Inject
    JwtAuthorityService authority;

    @Context
    HttpServerRequest request;

    public record Issued(String spiffeId, String token, String expiresAt) {
    }

    @POST
    public Response issue(String body) {
        HttpPeer peer = HttpPeer.of(request);
        try {
            if (!peer.tls()) {
                return ApiError.response(403, "tls-required", "JWT-SVIDs are issued over TLS only; use https://");
            }
            SpiffeId agent = enrolment.authenticateEnrolledVm("jwt.issue", peer.address(), peer.chain());
            JsonNode json = parse(body);
            List<String> audience = audience(json.get("audience"));
            SpiffeId subject = agent;
            JsonNode requested = json.get("spiffeId");
            if (requested != null && !requested.isNull()) {
                if (!requested.isTextual()) {
                    return bad("'spiffeId' must be a string, e.g. \"" + agent + "\"");
                }
                try {
                    subject = SpiffeId.parseWorkload(requested.asText());
                } catch (InvalidSpiffeIdException e) {
                    return bad("'spiffeId' " + requested + " is not a workload SPIFFE ID: " + e.getMessage());
                }
            }
            if (AgentSubjects.mayIssue(agent, subject) instanceof AgentSubjects.Denied d) {
                LOG.warnf("JWT-SVID refused: agent %s (%s) asked for %s: %s", agent, peer.address(), subject, d.message());
                return ApiError.response(403, "subject-not-allowed", d.message());
            }
            // While this replica is cut off from its cluster's majority, the token ends with the grace, as the X.509
            // SVIDs it signs do: a bearer token would otherwise let a VM revoked on the other side call for minutes.
            JwtSvid svid = authority.sign(subject, audience, enrolment.signingTtl(authority.svidTtl()));
            return Response.ok(new Issued(svid.id().toString(), svid.token(), svid.expiry().toString())).build();
        } catch (JwtKeyNotReadyException e) {
            return Response.fromResponse(ApiError.response(503, "jwt-key-not-federated", e.getMessage()))
                    .header("Retry-After", Long.toString(e.retryAfter().toSeconds())).build();
        } catch (EnrolmentException e) {
            return ApiError.response(e.error().status(), e.error().code(), e.getMessage());
        } catch (IllegalArgumentException e) {
            return bad(e.getMessage());
        }
    }

    private static JsonNode parse(String body) {
        try {
            JsonNode n = MAPPER.readTree(body == null ? "" : body);
            if (n == null || !n.isObject() || body.length() > 16 * 1024) {
                throw new IllegalArgumentException("the request body must be a JSON object of at most 16 KiB: "
                        + "{\"audience\": [\"...\"], \"spiffeId\": \"...\"}");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the request body is not JSON: " + e.getOriginalMessage());
        }
    }

    private static List<String> audience(JsonNode node) {
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw new IllegalArgumentException("'audience' must be a non-empty array of strings, got " + node);
        }
        if (node.size() > MAX_AUDIENCES) {
            throw new IllegalArgumentException("'audience' has " + node.size() + " entries; at most " + MAX_AUDIENCES);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode a : node) {
            if (!a.isTextual() || a.asText().isBlank() || a.asText().length() > MAX_AUDIENCE_CHARS) {
                throw new IllegalArgumentException("'audience' entries must be non-blank strings of at most "
                        + MAX_AUDIENCE_CHARS + " characters, got " + a);
            }
            out.add(a.asText());
        }
        return out;
    }

    private static Response bad(String detail) {
        return ApiError.response(400, "invalid-request", detail);
    }
}
