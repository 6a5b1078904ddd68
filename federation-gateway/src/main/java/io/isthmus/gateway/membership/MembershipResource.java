package io.isthmus.gateway.membership;

import java.time.Duration;
import java.util.List;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
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
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.membership.FederationMembership;
import io.isthmus.trust.membership.MemberVersion;
import io.isthmus.trust.membership.MembershipCodec;
import io.isthmus.trust.membership.MembershipRefusal;
import io.isthmus.trust.membership.MembershipVerdict;
import io.isthmus.trust.membership.SignedMembership;
import io.vertx.core.http.HttpServerRequest;

/**
 * The admin API of the federation's membership:
 * <ul>
 * <li>{@code PUT /v1/admin/federation/membership} with the signed document (compact JWS, or
 * {@code {"document": "<JWS>"}}) as the body: verified,
 * taken and applied here, then spread to every member; answers when applied here, with the warnings (a new member
 * not reachable yet), or {@code {"code", "detail"}} with the refusal ({@code 409} for a version not newer, else
 * {@code 422}), changing nothing;</li>
 * <li>{@code GET /v1/admin/federation/membership}: the document held ({@code document} is the signed form, to
 * build the next version from);</li>
 * <li>{@code GET /v1/admin/federation/status}: which version every member holds, as each one answers.</li>
 * </ul>
 * Authenticated like every admin call ({@link AdminAuth}); each change is an audit line.
 */
@Path("/v1/admin/federation")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class MembershipResource {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    TrustService trust;

    @Inject
    AdminAuth auth;

    @Inject
    EnrolmentAudit audit;

    @Context
    HttpServerRequest request;

    @PUT
    @Path("/membership")
    public Response offer(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return AdminStep.run(auth, audit, request, "federation.membership", authorization, true, principal -> {
            MembershipVerdict verdict = membership().offer(document(body), "the admin API (" + principal + ")");
            if (verdict instanceof MembershipVerdict.Refused r) {
                return Outcome.refused(r.reason() == MembershipRefusal.VERSION_NOT_NEWER ? 409 : 422, r.reason().code(),
                        r.message());
            }
            MembershipVerdict.Accepted a = (MembershipVerdict.Accepted) verdict;
            ObjectNode n = view(a.document());
            ArrayNode warnings = n.putArray("warnings");
            a.warnings().forEach(warnings::add);
            return Outcome.changed(n, "applied", null, "version " + a.document().version());
        });
    }

    @GET
    @Path("/membership")
    public Response show(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return read(authorization, () -> membership().current().<Object>map(MembershipResource::view)
                .orElseGet(() -> JSON.createObjectNode().put("self", membership().selfName())));
    }

    @GET
    @Path("/status")
    public Response status(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return read(authorization, () -> {
            ObjectNode n = JSON.createObjectNode();
            n.put("self", membership().selfName());
            membership().current().ifPresent(c -> n.put("version", c.version()));
            ArrayNode members = n.putArray("members");
            List<MemberVersion> versions = membership().status(Duration.ofSeconds(5));
            for (MemberVersion v : versions) {
                ObjectNode m = members.addObject();
                m.put("name", v.name());
                m.put("trustDomain", v.trustDomain().name());
                v.version().ifPresent(x -> m.put("version", x));
                v.error().ifPresent(e -> m.put("error", e));
            }
            return n;
        });
    }

    /** The body is the compact JWS itself, or {@code {"document": "<compact JWS>"}}. */
    static String document(String body) {
        String text = body == null ? "" : body.strip();
        if (text.startsWith("{")) {
            try {
                var n = JSON.readTree(text);
                if (n.isObject() && n.size() == 1 && n.path("document").isTextual()) {
                    return n.get("document").asText();
                }
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                // Not our wrapper: the verifier names what it is.
            }
        }
        return text;
    }

    private FederationMembership membership() {
        return trust.membership();
    }

    static ObjectNode view(SignedMembership doc) {
        ObjectNode n = JSON.createObjectNode();
        n.put("version", doc.version());
        try {
            n.set("membership", JSON.readTree(new MembershipCodec().toJson(doc.membership())));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        n.put("signer", doc.signer().getSubjectX500Principal().getName());
        n.put("document", doc.compact());
        return n;
    }

    private interface Read {
        Object run();
    }

    /** The reads answer whom they authenticate, without an audit line (as they always did). */
    private Response read(String authorization, Read read) {
        return AdminStep.run(auth, audit, request, "federation.read", authorization, false,
                principal -> Outcome.read(read.run()));
    }
}
