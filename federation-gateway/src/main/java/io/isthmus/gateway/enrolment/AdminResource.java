package io.isthmus.gateway.enrolment;

import java.time.Duration;
import java.util.Optional;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
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

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.gateway.authz.explain.ExplainRequest;
import io.isthmus.gateway.authz.explain.Explanation;
import io.isthmus.gateway.authz.explain.PolicyExplainer;
import io.isthmus.gateway.proxy.ProxyConfig;
import io.isthmus.gateway.proxy.ProxyService;
import io.isthmus.gateway.status.StatusJson;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.registry.Registry;
import io.vertx.core.http.HttpServerRequest;

/**
 * Admin API for VM enrolment: {@code POST/GET /v1/admin/join-tokens}, {@code DELETE /v1/admin/join-tokens/{id}},
 * {@code POST /v1/admin/identities/revoke}, {@code GET /v1/admin/identities}; and {@code POST
 * /v1/admin/authz/explain}. Authenticated by {@link AdminAuth}.
 */
@Path("/v1/admin")
@Consumes(MediaType.WILDCARD)
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {

    @Inject
    EnrolmentService service;

    @Inject
    AdminAuth auth;

    @Inject
    Authorizer authorizer;

    @Inject
    ProxyConfig proxy;

    @Inject
    Registry registry;

    @Context
    HttpServerRequest request;

    /** A token as listed: never its secret. */
    public record TokenView(String id, String spiffeId, String createdAt, String expiresAt, int maxUses, int uses,
            boolean revoked) {
        static TokenView of(JoinToken t) {
            return new TokenView(t.id(), t.identity().toString(), t.createdAt().toString(), t.expiresAt().toString(),
                    t.maxUses(), t.uses(), t.revoked());
        }
    }

    /** The one answer that contains the token text. */
    public record CreatedTokenView(String token, TokenView details) {
    }

    /** @param warning what the administrator should know about a revocation just made; absent otherwise */
    public record IdentityView(String spiffeId, String state, String enrolledAt, String revokedAt, String reason,
            @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
            String warning) {
        static IdentityView of(VmIdentity v) {
            return of(v, null);
        }

        static IdentityView of(VmIdentity v, String warning) {
            return new IdentityView(v.id().toString(), v.state().name().toLowerCase(java.util.Locale.ROOT),
                    v.enrolledAt().map(Object::toString).orElse(null), v.revokedAt().map(Object::toString).orElse(null),
                    v.revokeReason().orElse(null), warning);
        }
    }

    @POST
    @Path("/join-tokens")
    public Response createToken(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return admin("token.create", authorization, principal -> {
            JsonNode json = EnrolmentResource.parseBody(body);
            Optional<Duration> ttl = Optional.ofNullable(EnrolmentResource.text(json, "ttl")).map(AdminResource::duration);
            Optional<Integer> maxUses = json.hasNonNull("maxUses") ? Optional.of(integer(json.get("maxUses"))) : Optional.empty();
            EnrolmentService.CreatedToken created = service.createToken(principal,
                    EnrolmentResource.text(json, "namespace"), EnrolmentResource.text(json, "serviceAccount"), ttl, maxUses);
            return Response.status(201).entity(new CreatedTokenView(created.text(), TokenView.of(created.token()))).build();
        });
    }

    @GET
    @Path("/join-tokens")
    public Response listTokens(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin("token.list", authorization,
                principal -> Response.ok(service.listTokens().stream().map(TokenView::of).toList()).build());
    }

    @DELETE
    @Path("/join-tokens/{id}")
    public Response revokeToken(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, @PathParam("id") String id) {
        return admin("token.revoke", authorization,
                principal -> Response.ok(TokenView.of(service.revokeToken(principal, id))).build());
    }

    @POST
    @Path("/identities/revoke")
    public Response revokeIdentity(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return admin("identity.revoke", authorization, principal -> {
            JsonNode json = EnrolmentResource.parseBody(body);
            EnrolmentService.Revocation r = service.revokeIdentity(principal, EnrolmentResource.text(json, "spiffeId"),
                    EnrolmentResource.text(json, "reason"));
            return Response.ok(IdentityView.of(r.identity(), r.warning().orElse(null))).build();
        });
    }

    @GET
    @Path("/identities")
    public Response listIdentities(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return admin("identity.list", authorization,
                principal -> Response.ok(service.listIdentities().stream().map(IdentityView::of).toList()).build());
    }

    /**
     * {@code POST /v1/admin/authz/explain} {caller, to, port, method, path}: what this gateway's ingress would decide
     * for that call under the policies in force now, with the path as it normalizes it ({@code isthmus authz
     * explain}). Admin only: it reveals which rule admits whom.
     */
    @POST
    @Path("/authz/explain")
    public Response explainAuthz(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, String body) {
        return admin("authz.explain", authorization, principal -> {
            JsonNode json = EnrolmentResource.parseBody(body);
            ExplainRequest r;
            try {
                Integer port = json.hasNonNull("port") ? integer(json.get("port"), "port") : null;
                r = ExplainRequest.parse(EnrolmentResource.text(json, "caller"), EnrolmentResource.text(json, "to"),
                        port, EnrolmentResource.text(json, "method"), EnrolmentResource.text(json, "path"),
                        proxy.meshSuffix());
            } catch (IllegalArgumentException e) {
                throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, e.getMessage());
            }
            boolean servedHere = registry.exportsOf(r.destination()).stream()
                    .anyMatch(e -> e.key().cluster().equals(registry.cluster()));
            Explanation explanation = new PolicyExplainer(ProxyService.paths(proxy), authorizer).explain(r, servedHere);
            try {
                return Response.ok(StatusJson.mapper().writeValueAsString(explanation)).build();
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("an explanation cannot fail to serialize", e);
            }
        });
    }

    private interface Call {
        Response run(String principal);
    }

    private Response admin(String action, String authorization, Call call) {
        HttpPeer peer = HttpPeer.of(request);
        String principal;
        try {
            principal = auth.authenticate(peer, authorization);
        } catch (EnrolmentException e) {
            service.adminDeny(action, peer.address(), e);
            return EnrolmentResource.error(e);
        }
        try {
            return call.run(principal);
        } catch (EnrolmentException e) {
            return EnrolmentResource.error(e);
        }
    }

    static Duration duration(String text) {
        try {
            String t = text.trim();
            if (t.startsWith("P") || t.startsWith("p")) {
                return Duration.parse(t.toUpperCase(java.util.Locale.ROOT));
            }
            long n = Long.parseLong(t.substring(0, t.length() - 1));
            return switch (t.charAt(t.length() - 1)) {
                case 'h' -> Duration.ofHours(n);
                case 'm' -> Duration.ofMinutes(n);
                case 's' -> Duration.ofSeconds(n);
                default -> throw new NumberFormatException();
            };
        } catch (RuntimeException e) {
            throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, "ttl '" + text
                    + "' is not a duration; use e.g. 15m, 1h, 90s or PT15M");
        }
    }

    private static int integer(JsonNode n) {
        return integer(n, "maxUses");
    }

    private static int integer(JsonNode n, String field) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new EnrolmentException(EnrolmentError.INVALID_REQUEST, field + " must be an integer");
        }
        return n.asInt();
    }
}
