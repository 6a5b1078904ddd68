package io.isthmus.gateway.jwt;

import java.io.IOException;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.gateway.api.AdminStep;
import io.isthmus.gateway.api.AdminStep.Outcome;
import io.isthmus.gateway.enrolment.AdminAuth;
import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtRotationException;
import io.vertx.core.http.HttpServerRequest;

/**
 * Rotation of the JWT signing key, authenticated like every admin call ({@link AdminAuth}), each step audited:
 * {@code GET /v1/admin/jwt} (the ring), {@code POST /v1/admin/jwt/prepare} (a new key, published now),
 * {@code POST /v1/admin/jwt/activate} (after peers refreshed the bundle: the new key signs, the old one retires),
 * {@code POST /v1/admin/jwt/retire/{kid}} (once its tokens expired). A step out of order is 409 with what to do.
 */
@Path("/v1/admin/jwt")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class JwtAdminResource {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Inject
    JwtAuthorityService authority;

    @Inject
    AdminAuth auth;

    @Inject
    EnrolmentAudit audit;

    @Context
    HttpServerRequest request;

    private interface Step {
        JwtKeyRing run() throws IOException;
    }

    @GET
    public Response view(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin("jwt.status", authorization, authority::ring);
    }

    @POST
    @Path("/prepare")
    public Response prepare(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin("jwt.prepare", authorization, authority::prepare);
    }

    @POST
    @Path("/activate")
    public Response activate(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin("jwt.activate", authorization, authority::activate);
    }

    @POST
    @Path("/retire/{kid}")
    public Response retire(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, @PathParam("kid") String kid) {
        return admin("jwt.retire", authorization, () -> authority.retire(kid));
    }

    private Response admin(String action, String authorization, Step step) {
        return AdminStep.run(auth, audit, request, action, authorization, true, principal -> {
            try {
                JwtKeyRing ring = step.run();
                ObjectNode view = federatedView(ring);
                return action.equals("jwt.status") ? Outcome.read(view) : Outcome.changed(view, "done",
                        ring.active().keyId(), "published " + authority.publishedKeyIds() + " by this replica; the "
                        + "bundle, with the other replicas' keys: " + authority.bundleKeyIds());
            } catch (JwtRotationException e) {
                return Outcome.refused(409, "jwt-rotation-refused", e.getMessage());
            } catch (IOException e) {
                return Outcome.failed(503, "store-unavailable", "persisting the JWT key ring failed: " + e.getMessage());
            }
        });
    }

    /** The ring, which replica answered (steps apply to its own ring), and whether peers can know each key yet. */
    private ObjectNode federatedView(JwtKeyRing ring) {
        ObjectNode view = view(ring);
        view.put("replica", authority.replicaName());
        // Activate waits for the prepared key to be federated; signing waits for the active one.
        ObjectNode federated = view.putObject("federated");
        ring.next().ifPresent(k -> federated.put(k.keyId(), describe(authority.readiness(k.keyId()))));
        federated.put(ring.active().keyId(), describe(authority.readiness(ring.active().keyId())));
        return view;
    }

    private static String describe(io.isthmus.trust.jwt.JwtKeyReadiness.Verdict v) {
        return switch (v) {
            case io.isthmus.trust.jwt.JwtKeyReadiness.Verdict.Ready r -> "ready: " + r.why().name().toLowerCase()
                    .replace('_', '-');
            case io.isthmus.trust.jwt.JwtKeyReadiness.Verdict.NotYet n -> "not yet: " + n.describe();
        };
    }

    static ObjectNode view(JwtKeyRing ring) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("active", ring.active().keyId());
        ring.next().ifPresent(k -> n.put("next", k.keyId()));
        var retiring = n.putArray("retiring");
        ring.retiring().forEach(r -> retiring.addObject().put("kid", r.authority().keyId()).put("until",
                r.until().toString()));
        return n;
    }
}
