package io.isthmus.gateway.entries;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import io.isthmus.gateway.api.AdminStep;
import io.isthmus.gateway.api.AdminStep.Outcome;
import io.isthmus.gateway.enrolment.AdminAuth;
import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.enrolment.EnrolmentResource;
import io.isthmus.gateway.enrolment.EnrolmentService;
import io.isthmus.trust.attest.RegistrationEntryRule;
import io.isthmus.trust.spiffe.SpiffeId;
import io.vertx.core.http.HttpServerRequest;

/**
 * Registration entries managed at the gateway and delivered to VM agents, as SPIRE's server does for its agents:
 * <ul>
 * <li>{@code PUT /v1/admin/registration-entries} {@code {"agent": "<VM ID>", "entries": [{"spiffeId", "selectors"}]}}
 * replaces that agent's entries ({@link EntriesWrite}: refused whole, with the entry and the reason, when one entry is
 * outside the agent's path or has a bad selector); an empty array removes them;</li>
 * <li>{@code GET /v1/admin/registration-entries[?agent=<VM ID>]} lists them, {@code DELETE ...?agent=<VM ID>} removes
 * them; all three authenticated like every admin call ({@link AdminAuth}), each change an audit line;</li>
 * <li>the agent reads its own at {@link AgentEntriesResource}.</li>
 * </ul>
 * The admin calls have their own root path: under {@code /v1/admin} they would be looked for in the enrolment
 * admin resource only.
 */
@Path("/v1/admin/registration-entries")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class RegistrationEntryResource {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    EnrolmentService enrolment;

    @Inject
    RegistrationEntryStore store;

    @Inject
    AdminAuth auth;

    @Inject
    EnrolmentAudit audit;

    @Context
    HttpServerRequest request;

    @PUT
    public Response set(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return AdminStep.run(auth, audit, request, "entries.set", authorization, true, principal -> {
            JsonNode json = EnrolmentResource.parseBody(body);
            return switch (EntriesWrite.check(enrolment.vmIdentityPolicy(), json)) {
                case EntriesWrite.Refused r -> Outcome.refused(r.reason() == EntriesWrite.Reason.NOT_A_VM_IDENTITY ? 403
                        : 400, r.reason().label(), r.message());
                case EntriesWrite.Accepted a -> {
                    store.set(a.agent(), a.entries());
                    yield Outcome.changed(view(a.agent(), RegistrationEntryRule.json(a.entries())), "set",
                            a.agent().toString(), a.entries().size() + " registration entries");
                }
            };
        });
    }

    @GET
    public Response list(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, @QueryParam("agent") String agent) {
        return AdminStep.run(auth, audit, request, "entries.list", authorization, true, principal -> {
            ArrayNode all = JSON.createArrayNode();
            if (agent != null) {
                return switch (EntriesWrite.agent(enrolment.vmIdentityPolicy(), TextNode.valueOf(agent))) {
                    case EntriesWrite.Refused r -> Outcome.failed(400, r.reason().label(), r.message());
                    case EntriesWrite.Accepted a -> Outcome.read(all.add(view(a.agent(), store.of(a.agent()))));
                };
            }
            store.all().forEach((id, entries) -> all.add(view(SpiffeId.parse(id), entries)));
            return Outcome.read(all);
        });
    }

    @DELETE
    public Response delete(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization,
            @QueryParam("agent") String agent) {
        return AdminStep.run(auth, audit, request, "entries.delete", authorization, true, principal -> {
            return switch (EntriesWrite.agent(enrolment.vmIdentityPolicy(), agent == null ? null : TextNode.valueOf(agent))) {
                case EntriesWrite.Refused r -> Outcome.refused(400, r.reason().label(), r.message());
                case EntriesWrite.Accepted a -> store.delete(a.agent())
                        ? Outcome.changed(view(a.agent(), JSON.createArrayNode()), "deleted", a.agent().toString(), null)
                        : Outcome.refused(404, "not-found", "agent " + a.agent() + " has no registration entries");
            };
        });
    }

    static ObjectNode view(SpiffeId agent, JsonNode entries) {
        ObjectNode n = JSON.createObjectNode().put("agent", agent.toString());
        n.set("entries", entries);
        return n;
    }
}
