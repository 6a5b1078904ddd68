package io.isthmus.gateway.api.access;

import java.util.Optional;

import jakarta.inject.Inject;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import io.isthmus.gateway.api.ApiError;
import io.isthmus.gateway.enrolment.BootstrapToken;
import io.isthmus.gateway.enrolment.HttpPeer;
import io.isthmus.gateway.trust.TrustService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.http.HttpServerRequest;

/**
 * Applies {@link ReadAccess} to every {@link FederatedRead} resource, after routing and before the resource runs.
 * A refusal is an {@link ApiError} with the refusal's stable code, counted in
 * {@code isthmus_api_read_refusals_total{reason}}; nothing of the registry is read.
 */
public class ReadAccessFilter {
    @Inject
    TrustService trust;

    @Inject
    BootstrapToken token;

    @Inject
    MeterRegistry meters;

    @ServerRequestFilter
    public Optional<Response> check(ResourceInfo resource, HttpServerRequest request) {
        if (!guarded(resource)) {
            return Optional.empty();
        }
        HttpPeer peer = HttpPeer.of(request);
        ReadVerdict verdict = ReadAccess.decide(new ReadAccess.Request(peer.tls(),
                Optional.ofNullable(request.getHeader(HttpHeaders.AUTHORIZATION)), peer.chain()), token.read(),
                trust.runtime().verifier());
        if (verdict instanceof ReadVerdict.Refused r) {
            Counter.builder("isthmus_api_read_refusals").tag("reason", r.reason().code())
                    .description("Reads of the API port refused, by reason").register(meters).increment();
            return Optional.of(ApiError.response(r.reason().status(), r.reason().code(), r.detail()));
        }
        return Optional.empty();
    }

    private static boolean guarded(ResourceInfo resource) {
        return resource.getResourceMethod() != null && (resource.getResourceMethod().isAnnotationPresent(FederatedRead.class)
                || resource.getResourceClass().isAnnotationPresent(FederatedRead.class));
    }
}
