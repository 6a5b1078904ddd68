package io.isthmus.gateway.jwt;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.gateway.api.AdminStep;
import io.isthmus.gateway.api.AdminStep.Outcome;
import io.isthmus.gateway.enrolment.AdminAuth;
import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.jwt.rotation.JwtRotationRecord;
import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.vertx.core.http.HttpServerRequest;

/**
 * Rotation of the cluster's JWT signing keys, authenticated like every admin call ({@link AdminAuth}), each step
 * audited: {@code GET /v1/admin/jwt} (this replica's ring, and where every replica stands),
 * {@code POST /v1/admin/jwt/prepare} (every replica makes a new key, published now), {@code POST /v1/admin/jwt/activate}
 * (once peers know every replica's new key: each new key signs, each old one retires), {@code POST
 * /v1/admin/jwt/retire} or {@code .../retire/{kid}} (once the old keys' tokens expired, they leave every replica's
 * ring). A step taken at any replica (behind a load balancer, whichever answers) applies to every replica, each on
 * its own key ({@link ClusterJwtRotation}): 200 once every live replica applied it, 202 when some have not within
 * {@code isthmus.jwt.rotation-wait}, each replica's state in {@code replicas}. A step out of order is 409 with what to do.
 */
@Path("/v1/admin/jwt")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class JwtAdminResource {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Inject
    JwtAuthorityService authority;

    @Inject
    ClusterJwtRotation cluster;

    @Inject
    AdminAuth auth;

    @Inject
    EnrolmentAudit audit;

    @Context
    HttpServerRequest request;

    @GET
    public Response view(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return AdminStep.run(auth, audit, request, "jwt.status", authorization, true, principal -> {
            ObjectNode view = federatedView(authority.ring());
            Optional<JwtRotationRecord> current = cluster.current();
            current.ifPresent(r -> recorded(view.putObject("cluster"), r));
            replicas(view, authority.replicaRotations(), current.map(JwtRotationRecord::generation).orElse(0L));
            return Outcome.read(view);
        });
    }

    @POST
    @Path("/prepare")
    public Response prepare(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return step("jwt.prepare", authorization, JwtRotationRecord.Step.PREPARE, Optional.empty());
    }

    @POST
    @Path("/activate")
    public Response activate(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return step("jwt.activate", authorization, JwtRotationRecord.Step.ACTIVATE, Optional.empty());
    }

    @POST
    @Path("/retire")
    public Response retireAll(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return step("jwt.retire", authorization, JwtRotationRecord.Step.RETIRE, Optional.empty());
    }

    @POST
    @Path("/retire/{kid}")
    public Response retire(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, @PathParam("kid") String kid) {
        return step("jwt.retire", authorization, JwtRotationRecord.Step.RETIRE, Optional.of(kid));
    }

    private Response step(String action, String authorization, JwtRotationRecord.Step step, Optional<String> kid) {
        return AdminStep.run(auth, audit, request, action, authorization, true, principal -> {
            try {
                ClusterJwtRotation.StepResult result = cluster.take(step, kid, principal);
                ObjectNode view = federatedView(authority.ring());
                recorded(view.putObject("cluster"), result.record()).put("complete", result.complete());
                List<String> behind = replicas(view, result.replicas(), result.record().generation());
                String detail = "generation " + result.record().generation() + "; the bundle: "
                        + authority.bundleKeyIds();
                return result.complete()
                        ? Outcome.changed(view, "done", step.label(), "applied by every replica " + result.replicas()
                                .keySet() + "; " + detail)
                        : Outcome.accepted(view, "recorded", step.label(), "not yet applied by " + behind + "; "
                                + detail);
            } catch (ClusterJwtRotation.Refused e) {
                return Outcome.refused(409, "jwt-rotation-refused", e.getMessage());
            } catch (io.isthmus.gateway.jwt.rotation.RotationChannel.ReadOnlyException e) {
                return Outcome.failed(503, "store-unavailable", e.getMessage());
            } catch (IOException e) {
                return Outcome.failed(503, "store-unavailable", "persisting the JWT key ring failed: " + e.getMessage());
            }
        });
    }

    private static ObjectNode recorded(ObjectNode n, JwtRotationRecord r) {
        return n.put("step", r.step().label()).put("generation", r.generation()).put("requestedBy", r.requestedBy())
                .put("requestedAt", r.requestedAt().toString()).put("recordedBy", r.replica());
    }

    /** Adds every live replica's state; returns the replicas that have not applied {@code generation}. */
    private static List<String> replicas(ObjectNode view, Map<String, Optional<ReplicaRotation>> replicas,
            long generation) {
        ArrayNode out = view.putArray("replicas");
        List<String> behind = new ArrayList<>();
        replicas.forEach((name, state) -> {
            ObjectNode n = out.addObject().put("replica", name);
            if (state.isEmpty()) {
                n.put("applied", false).put("pending", "runs a gateway without cluster-wide JWT rotation");
                behind.add(name);
                return;
            }
            boolean applied = state.get().applied() >= generation;
            n.put("applied", applied);
            state.get().toJson(n.putObject("state"));
            if (!applied) {
                behind.add(name);
            }
        });
        return behind;
    }

    /** The ring, which replica answered, and whether peers can know each key yet. */
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
