package io.isthmus.gateway.entries;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.isthmus.gateway.api.ApiError;
import io.isthmus.gateway.enrolment.EnrolmentException;
import io.isthmus.gateway.enrolment.EnrolmentService;
import io.isthmus.gateway.enrolment.HttpPeer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.vertx.core.http.HttpServerRequest;

/**
 * {@code GET /v1/agent/registration-entries}: the calling VM agent's own registration entries, authenticated by its
 * current SVID as TLS client certificate, exactly as renewal is (enrolled, not revoked). It takes no parameter: whose
 * entries it answers is decided by the certificate alone, so an agent can never read another's.
 */
@Path("/v1/agent/registration-entries")
@Produces(MediaType.APPLICATION_JSON)
public class AgentEntriesResource {
    @Inject
    EnrolmentService enrolment;

    @Inject
    RegistrationEntryStore store;

    @Context
    HttpServerRequest request;

    @GET
    public Response forAgent() {
        HttpPeer peer = HttpPeer.of(request);
        try {
            peer.requireTls();
            SpiffeId agent = enrolment.authenticateEnrolledVm("entries.read", peer.address(), peer.chain());
            return Response.ok(RegistrationEntryResource.view(agent, store.of(agent))).build();
        } catch (EnrolmentException e) {
            return ApiError.response(e.error().status(), e.error().code(), e.getMessage());
        }
    }
}
