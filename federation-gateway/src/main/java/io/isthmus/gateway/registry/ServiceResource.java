package io.isthmus.gateway.registry;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.isthmus.gateway.api.ApiError;
import io.isthmus.gateway.api.access.FederatedRead;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.LocalityOrder;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Registry;
import io.isthmus.registry.RegistryQuery;

/**
 * Read-only view of the federation's registry: {@code GET /v1/services?namespace=&cluster=&stale=} and
 * {@code GET /v1/services/{mesh-name}}. It lists every service, identity and ingress address, so only a workload of
 * a federated trust domain (its SVID) or an admin (the bootstrap token) may read it: {@link FederatedRead}.
 */
@FederatedRead
@Path("/v1/services")
@Produces(MediaType.APPLICATION_JSON)
public class ServiceResource {
    @Inject
    Registry registry;

    @Inject
    RegistryService service;

    @Inject
    Clock clock;

    public record PortView(String name, int port, String protocol) {
    }

    public record ExportView(String cluster, String namespace, String name, String meshName, List<PortView> ports,
            List<String> identities, String ingress, String region, String zone, int readyEndpoints, long revision,
            String heartbeat, long leaseSeconds, boolean stale, boolean routable) {
        static ExportView of(ExportedService e, String suffix, Instant now) {
            return new ExportView(e.key().cluster(), e.key().namespace(), e.key().name(), e.meshName(suffix).host(),
                    e.ports().stream().map(p -> new PortView(p.name(), p.port(), p.protocol().name().toLowerCase())).toList(),
                    e.identities().stream().map(Object::toString).toList(), e.ingress().toString(), e.locality().region(),
                    e.locality().zone(), e.readyEndpoints(), e.revision(), e.heartbeat().toString(), e.lease().toSeconds(),
                    e.stale(now), e.routable(now));
        }
    }

    /** One mesh name: every cluster's export, and the clusters a request from here would go to, in order. */
    public record ServiceView(String meshName, List<ExportView> exports, List<String> routingOrder) {
    }

    @GET
    public Response list(@QueryParam("namespace") String namespace, @QueryParam("cluster") String cluster,
            @QueryParam("stale") String stale) {
        Optional<Boolean> staleFilter;
        if (stale == null || stale.isBlank()) {
            staleFilter = Optional.empty();
        } else if (stale.equalsIgnoreCase("true") || stale.equalsIgnoreCase("false")) {
            staleFilter = Optional.of(Boolean.parseBoolean(stale));
        } else {
            return ApiError.response(400, "invalid-stale-filter", "stale must be true or false, got '" + stale + "'");
        }
        Instant now = clock.instant();
        List<ExportView> views = registry.list(new RegistryQuery(Optional.ofNullable(namespace), Optional.ofNullable(cluster),
                staleFilter)).stream().map(e -> ExportView.of(e, registry.meshSuffix(), now)).toList();
        return Response.ok(views).build();
    }

    @GET
    @Path("/{meshName}")
    public Response get(@PathParam("meshName") String meshName) {
        Optional<MeshName> name = MeshName.parseHost(meshName, registry.meshSuffix());
        if (name.isEmpty()) {
            return ApiError.response(400, "invalid-mesh-name", "'" + meshName + "' is not <service>.<namespace>."
                    + registry.meshSuffix() + " (DNS-1123 labels)");
        }
        List<ExportedService> exports = registry.exportsOf(name.get());
        if (exports.isEmpty()) {
            return ApiError.response(404, "unknown-service", "no cluster exports " + name.get().host());
        }
        Instant now = clock.instant();
        io.isthmus.registry.Locality here = new io.isthmus.registry.Locality(
                service.config().locality().region().orElse(""), service.config().locality().zone().orElse(""));
        return Response.ok(new ServiceView(name.get().host(),
                exports.stream().map(e -> ExportView.of(e, registry.meshSuffix(), now)).toList(),
                LocalityOrder.rank(exports, here, now).stream().map(e -> e.key().cluster()).toList())).build();
    }
}
