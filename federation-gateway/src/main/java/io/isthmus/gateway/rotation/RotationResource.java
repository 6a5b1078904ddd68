package io.isthmus.gateway.rotation;

import java.util.List;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.infinispan.remoting.transport.Address;

import io.isthmus.gateway.api.AdminStep;
import io.isthmus.gateway.api.AdminStep.Outcome;
import io.isthmus.gateway.enrolment.AdminAuth;
import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.enrolment.EnrolmentStores;
import io.isthmus.gateway.rotation.ReplicaGate.Step;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.rotation.IntermediateRotation;
import io.isthmus.trust.rotation.RotationException;
import io.isthmus.trust.rotation.RotationRefusal;
import io.isthmus.trust.rotation.RotationView;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.x509.Pem;
import io.vertx.core.http.HttpServerRequest;

/**
 * The admin API of rotations, for automation (the CLI {@code isthmus rotate} drives the same calls):
 * <ul>
 * <li>{@code GET /v1/admin/rotation}: this cluster's rotation and trust status, and every peer's (its phase, the
 * roots and bundle sequences it holds);</li>
 * <li>{@code POST /v1/admin/rotation/intermediate/prepare}: a new key here, answers its CSR;</li>
 * <li>{@code POST .../sign} {@code {"chain": "<PEM>"}}: the certificate the root signed;</li>
 * <li>{@code POST .../publish}, {@code GET .../wait} (which peers hold the new CA), {@code POST .../activate}
 * {@code {"force": false}}, {@code POST .../retire} {@code {"force": false}}, {@code POST .../abort}.</li>
 * </ul>
 * Authenticated like every admin call ({@link AdminAuth}); each step is an audit line. A refusal is
 * {@code {"code", "detail"}} with the {@link RotationRefusal} code: 422 for a certificate that is not acceptable,
 * 409 for a step that cannot be taken now.
 *
 * <p>The rotation lives in the answering replica's data directory only, so {@code prepare}, {@code sign},
 * {@code publish} and {@code activate} answer 409 {@code several-replicas} (naming the replicas) while this replica
 * is not its cluster's only one ({@link ReplicaGate}): with several replicas, rotate by writing the new intermediate
 * into the CA Secret/files every replica watches, or scale to one replica for the rotation. Status, {@code wait},
 * {@code retire} and {@code abort} stay available.
 */
@Path("/v1/admin/rotation")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class RotationResource {
    @Inject
    TrustService trust;

    @Inject
    AdminAuth auth;

    @Inject
    EnrolmentStores stores;

    @Inject
    EnrolmentAudit audit;

    @Context
    HttpServerRequest request;

    @GET
    public Response status(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin(Step.STATUS, "rotation.status", authorization, () -> {
            TrustRuntime rt = trust.runtime();
            ObjectNode n = RotationJson.MAPPER.createObjectNode();
            n.set("cluster", RotationJson.view(rt.rotation().view()));
            n.set("status", RotationJson.status(rt.status()));
            n.set("peers", RotationJson.peers(rt.sync().fetchAll(rt.settings().rotation().peerStatusTimeout())));
            return n;
        });
    }

    @POST
    @Path("/intermediate/prepare")
    public Response prepare(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin(Step.PREPARE, "rotation.prepare", authorization, () -> {
            String csr = rotation().prepare();
            ObjectNode n = RotationJson.view(rotation().view());
            n.put("csr", csr);
            return n;
        });
    }

    @POST
    @Path("/intermediate/sign")
    public Response sign(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return admin(Step.SIGN, "rotation.sign", authorization, () -> {
            String pem = text(body, "chain");
            List<java.security.cert.X509Certificate> chain;
            try {
                chain = Pem.readCertificates(pem == null ? "" : pem, "the submitted chain");
            } catch (IllegalArgumentException e) {
                throw new RotationException(RotationRefusal.MALFORMED, "the submitted chain is not PEM certificates ("
                        + e.getMessage() + "); send {\"chain\": \"-----BEGIN CERTIFICATE-----...\"}");
            }
            return RotationJson.view(rotation().sign(chain));
        });
    }

    @POST
    @Path("/intermediate/publish")
    public Response publish(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin(Step.PUBLISH, "rotation.publish", authorization, () -> RotationJson.view(rotation().publish()));
    }

    @GET
    @Path("/intermediate/wait")
    public Response waitForPeers(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin(Step.WAIT, "rotation.wait", authorization, () -> {
            ObjectNode n = RotationJson.coverage(rotation().checkPeers());
            RotationView v = rotation().view();
            n.put("phase", v.phase().label());
            v.since().ifPresent(t -> n.put("publishedAt", t.toString()));
            n.put("agentRefresh", trust.runtime().settings().rotation().agentRefresh().toString());
            return n;
        });
    }

    @POST
    @Path("/intermediate/activate")
    public Response activate(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return admin(Step.ACTIVATE, "rotation.activate", authorization, () -> RotationJson.view(rotation().activate(force(body))));
    }

    @POST
    @Path("/intermediate/retire")
    public Response retire(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return admin(Step.RETIRE, "rotation.retire", authorization, () -> RotationJson.view(rotation().retire(force(body))));
    }

    @POST
    @Path("/intermediate/abort")
    public Response abort(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin(Step.ABORT, "rotation.abort", authorization, () -> RotationJson.view(rotation().abort()));
    }

    /*
     * The replicas come from the cluster view of the enrolment cache manager. It is always there: EnrolmentStores
     * starts at boot, before readiness, on every replica (lone ones too), and it is the same JGroups cluster the JWT
     * replica keys travel on. ReplicaKeyDirectory.liveRotations() would be the other source, but it keeps only members
     * that already wrote their key entry, so a replica that just joined would go unseen; the raw view counts it the
     * moment it joins, which is the safe side for a refusal.
     */
    private String replicaName() {
        Address self = stores.cacheManager().getAddress();
        return self == null ? "local" : self.toString();
    }

    private List<String> replicas() {
        List<Address> view = stores.cacheManager().getMembers();
        return view == null ? List.of() : view.stream().map(Object::toString).toList();
    }

    private IntermediateRotation rotation() {
        return trust.runtime().rotation();
    }

    private interface Call {
        JsonNode run();
    }

    private Response admin(Step step, String action, String authorization, Call call) {
        return AdminStep.run(auth, audit, request, action, authorization, true, principal -> {
            if (ReplicaGate.decide(step, replicaName(), replicas()) instanceof ReplicaGate.SeveralReplicas refused) {
                return Outcome.refused(409, refused.code(), refused.message());
            }
            try {
                JsonNode result = call.run();
                return step == Step.STATUS || step == Step.WAIT ? Outcome.read(result)
                        : Outcome.changed(result, "done", result.path("next").asText(null),
                                "phase " + result.path("phase").asText());
            } catch (RotationException e) {
                return Outcome.refused(status(e.refusal()), e.refusal().code(), e.getMessage());
            }
        });
    }

    static int status(RotationRefusal r) {
        return switch (r) {
            case MALFORMED, NOT_A_CA, WRONG_TRUST_DOMAIN, NO_NAME_CONSTRAINTS, NOT_UNDER_A_ROOT, ROOT_EXPIRED, EXPIRED,
                    NOT_YET_VALID, KEY_MISMATCH -> 422;
            case NOT_PREPARED, WRONG_PHASE, ROTATION_IN_PROGRESS, PEERS_LACK_CA, AGENTS_MAY_LACK_CA, NOT_DUE,
                    ROOT_STILL_NEEDED -> 409;
        };
    }

    private static boolean force(String body) {
        if (body == null || body.isBlank()) {
            return false;
        }
        JsonNode n = parse(body);
        JsonNode f = n.get("force");
        if (f != null && !f.isBoolean()) {
            throw new io.isthmus.gateway.enrolment.EnrolmentException(io.isthmus.gateway.enrolment.EnrolmentError.INVALID_REQUEST,
                    "'force' must be true or false");
        }
        return f != null && f.asBoolean();
    }

    private static String text(String body, String field) {
        JsonNode v = parse(body).get(field);
        if (v != null && !v.isTextual()) {
            throw new io.isthmus.gateway.enrolment.EnrolmentException(io.isthmus.gateway.enrolment.EnrolmentError.INVALID_REQUEST,
                    "field '" + field + "' must be a string");
        }
        return v == null ? null : v.asText();
    }

    private static JsonNode parse(String body) {
        try {
            JsonNode n = RotationJson.MAPPER.readTree(body == null ? "" : body);
            if (n == null || !n.isObject()) {
                throw new io.isthmus.gateway.enrolment.EnrolmentException(io.isthmus.gateway.enrolment.EnrolmentError.INVALID_REQUEST,
                        "the request body is not a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new io.isthmus.gateway.enrolment.EnrolmentException(io.isthmus.gateway.enrolment.EnrolmentError.INVALID_REQUEST,
                    "the request body is not JSON: " + e.getOriginalMessage());
        }
    }
}
