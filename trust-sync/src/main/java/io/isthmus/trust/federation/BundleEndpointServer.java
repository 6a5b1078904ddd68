package io.isthmus.trust.federation;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.endpoint.ConnectionGate;
import io.isthmus.trust.endpoint.ConnectionLimits;
import io.isthmus.trust.endpoint.EndpointAnswer;
import io.isthmus.trust.endpoint.EndpointRequest;
import io.isthmus.trust.endpoint.EndpointRoute;
import io.isthmus.trust.endpoint.HttpsEndpoint;
import io.isthmus.trust.tls.SvidSource;
import io.isthmus.trust.tls.TlsContexts;

/**
 * The SPIFFE bundle endpoint ({@code https_spiffe} profile): {@code GET /} returns this trust domain's bundle
 * as JSON, over TLS with this gateway's current SVID. No client authentication: bundles are public, and peers
 * authenticate the server, not the other way round. Anyone may connect, so connections are bounded per client
 * address and in all ({@link ConnectionLimits}), and a client's address is never looked up in DNS
 * ({@link HttpsEndpoint}).
 */
public final class BundleEndpointServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BundleEndpointServer.class);

    /**
     * Every answer states the serving gateway's time, from the clock it uses for certificates and leases, to the
     * millisecond (ISO-8601), so that peers can measure clock skew: the HTTP {@code Date} has whole seconds from the
     * JVM's clock.
     */
    public static final String TIME_HEADER = "Isthmus-Time";

    private final HttpsEndpoint server;

    private BundleEndpointServer(HttpsEndpoint server) {
        this.server = server;
    }

    /** Binds and starts serving the bundle only. Port 0 picks a free port; see {@link #address()}. */
    public static BundleEndpointServer start(InetSocketAddress bind, SvidSource svids, Supplier<TrustBundle> bundle,
            BundleCodec codec) throws IOException {
        return start(bind, svids, bundle, codec, null, Clock.systemUTC());
    }

    /** As below, with {@link ConnectionLimits#DEFAULTS}. */
    public static BundleEndpointServer start(InetSocketAddress bind, SvidSource svids, Supplier<TrustBundle> bundle,
            BundleCodec codec, Supplier<String> status, Clock clock) throws IOException {
        return start(bind, svids, bundle, codec, status, clock, ConnectionLimits.DEFAULTS);
    }

    /**
     * Binds and starts serving the bundle at {@code /} and, when {@code status} is given, this gateway's trust status
     * (JSON) at {@link BundleEndpointClient#STATUS_PATH}: what it holds is public, like the bundle; what makes the
     * answer trustworthy is the TLS server authentication by this gateway's SVID. Every answer states {@code clock}'s
     * time in {@link #TIME_HEADER}.
     */
    public static BundleEndpointServer start(InetSocketAddress bind, SvidSource svids, Supplier<TrustBundle> bundle,
            BundleCodec codec, Supplier<String> status, Clock clock, ConnectionLimits limits) throws IOException {
        SSLContext tls = TlsContexts.create(svids, null);
        SSLParameters p = tls.getDefaultSSLParameters();
        p.setProtocols(TlsContexts.PROTOCOLS);
        p.setNeedClientAuth(false);
        p.setWantClientAuth(false);
        ConnectionGate gate = new ConnectionGate(limits, clock, "SPIFFE bundle endpoint :" + bind.getPort());
        HttpsEndpoint server = HttpsEndpoint.start("isthmus-bundle-endpoint", bind, tls, p, gate,
                Map.of(TIME_HEADER, () -> clock.instant().truncatedTo(ChronoUnit.MILLIS).toString()));
        server.serve("/", request -> answer(request, bundle, codec, status));
        LOG.infof("SPIFFE bundle endpoint listening on https://%s:%d/", bind.getHostString(), server.address().getPort());
        return new BundleEndpointServer(server);
    }

    public InetSocketAddress address() {
        return server.address();
    }

    /** Connections refused by the limits since start. */
    public long refusedConnections() {
        return server.gate().refused();
    }

    /** Connections open now (admitted, not yet closed). */
    public int openConnections() {
        return server.gate().openTotal();
    }

    /** Serves {@code route} at {@code path} too (e.g. the membership document), on the same TLS and threads. */
    public void serve(String path, EndpointRoute route) {
        server.serve(path, route);
    }

    private static EndpointAnswer answer(EndpointRequest request, Supplier<TrustBundle> bundle, BundleCodec codec,
            Supplier<String> status) {
        boolean statusPath = status != null && BundleEndpointClient.STATUS_PATH.equals(request.path());
        if (!"/".equals(request.path()) && !statusPath) {
            return EndpointAnswer.json(404, "{\"error\":\"not-found\",\"detail\":\"the bundle is served at /\"}");
        }
        if (!"GET".equals(request.method())) {
            return EndpointAnswer.json(405, "{\"error\":\"method-not-allowed\",\"detail\":\"use GET\"}")
                    .withHeader("Allow", "GET");
        }
        return EndpointAnswer.json(200, statusPath ? status.get() : codec.toJson(bundle.get()));
    }

    @Override
    public void close() {
        server.close();
    }
}
