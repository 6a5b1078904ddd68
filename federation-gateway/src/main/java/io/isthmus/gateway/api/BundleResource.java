package io.isthmus.gateway.api;

import java.util.List;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.isthmus.gateway.api.access.FederatedRead;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * Read-only view of the bundles in force. {@code GET /v1/bundles/{trust-domain}} is public, as the SPIFFE bundle
 * endpoint is: a bundle holds only CA certificates. {@code GET /v1/bundles} lists every federated trust domain, i.e.
 * the federation's membership, so it is a {@link FederatedRead}; for the same reason an unknown trust domain's 404
 * does not list the known ones.
 */
@Path("/v1/bundles")
@Produces(MediaType.APPLICATION_JSON)
public class BundleResource {
    private static final BundleCodec CODEC = new BundleCodec();

    @Inject
    TrustService trust;

    public record AuthorityView(String serial, String subject, String notAfter, List<String> permittedUris) {
    }

    public record BundleView(String trustDomain, long sequence, Long refreshHintSeconds, List<AuthorityView> authorities,
            List<String> jwtKeyIds) {
        static BundleView of(TrustBundle b) {
            return new BundleView(b.trustDomain().name(), b.sequence(),
                    b.refreshHint().map(java.time.Duration::toSeconds).orElse(null),
                    b.x509Authorities().stream().map(c -> new AuthorityView(Certificates.serialHex(c),
                            c.getSubjectX500Principal().getName(), c.getNotAfter().toInstant().toString(),
                            Certificates.permittedUriSubtrees(c))).toList(),
                    b.jwtAuthorities().stream().map(j -> j.keyId()).toList());
        }
    }

    @GET
    @FederatedRead
    public List<BundleView> list() {
        return trust.runtime().store().snapshot().bundles().values().stream()
                .sorted(java.util.Comparator.comparing(TrustBundle::trustDomain)).map(BundleView::of).toList();
    }

    /** The bundle in SPIFFE format, as the bundle endpoint would serve it. */
    @GET
    @Path("/{trustDomain}")
    public Response get(@PathParam("trustDomain") String trustDomain) {
        TrustDomain td;
        try {
            td = TrustDomain.parse(trustDomain);
        } catch (InvalidSpiffeIdException e) {
            return ApiError.response(400, "invalid-trust-domain", e.getMessage());
        }
        return trust.runtime().bundleFor(td)
                .map(b -> Response.ok(CODEC.toJson(b)).build())
                .orElseGet(() -> ApiError.response(404, "unknown-trust-domain", "no bundle for trust domain " + td
                        + " (not federated with this gateway)"));
    }
}
