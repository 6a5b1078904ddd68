package io.isthmus.agent.egress;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.tls.SvidSource;

/**
 * The local egress's end-to-end path: which destinations accept passthrough (the gateway's registry API,
 * {@code GET /v1/services/<mesh name>}, remembered for a few seconds), and one HTTPS client per passthrough
 * destination that presents the VM's own SVID, sends the destination's route name as SNI to the gateway egress (which
 * relays the TLS undecrypted) and accepts only a server SVID the registry names for it. One client per destination:
 * the JDK pools connections by address, and every destination has the same address here (the gateway egress).
 */
public final class PassthroughRoutes implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(PassthroughRoutes.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration REMEMBER = Duration.ofSeconds(5);
    private static final int MAX_CLIENTS = 64;

    private final URI registryApi;
    private final HttpClient api;
    private final InetSocketAddress gatewayEgress;
    private final SvidSource svid;
    private final RootsSource roots;
    private final BundleSource bundles;
    private final String suffix;
    private final Clock clock;
    private final Map<String, Known> known = new ConcurrentHashMap<>();
    private final Map<PassthroughChoice.Passthrough, HttpClient> clients = new ConcurrentHashMap<>();

    private record Known(Instant at, List<PassthroughChoice.Export> exports) {
    }

    /**
     * @param gatewayApi    the gateway's API ({@code https://gw:15012}), read with {@code api}
     * @param api           an HTTPS client authenticating the gateway (closed with this)
     * @param gatewayEgress where the gateway's egress listens
     * @param roots         the federation roots in force (read at each handshake: a root rotation applies to clients
     *                      already made)
     */
    public PassthroughRoutes(URI gatewayApi, HttpClient api, InetSocketAddress gatewayEgress, SvidSource svid,
            RootsSource roots, BundleSource bundles, String suffix, Clock clock) {
        this.registryApi = gatewayApi;
        this.api = api;
        this.gatewayEgress = gatewayEgress;
        this.svid = svid;
        this.roots = roots;
        this.bundles = bundles;
        this.suffix = suffix.toLowerCase(Locale.ROOT);
        this.clock = clock;
    }

    /**
     * The route of a request whose Host is {@code host} ({@code <service>.<namespace>.<suffix>[:port]}); names not
     * under the mesh suffix, and any failure to read the registry, go via the gateway.
     */
    public PassthroughChoice.Choice choose(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        int port = -1;
        int colon = h.lastIndexOf(':');
        if (colon > 0 && h.indexOf(']') < colon) {
            try {
                port = Integer.parseInt(h.substring(colon + 1));
            } catch (NumberFormatException e) {
                return new PassthroughChoice.ViaGateway();
            }
            h = h.substring(0, colon);
        }
        String tail = "." + suffix;
        if (!h.endsWith(tail)) {
            return new PassthroughChoice.ViaGateway();
        }
        String[] sn = h.substring(0, h.length() - tail.length()).split("\\.", -1);
        if (sn.length != 2) {
            return new PassthroughChoice.ViaGateway();
        }
        return PassthroughChoice.choose(sn[0], sn[1], suffix, port, exports(sn[0] + "." + sn[1] + tail));
    }

    private List<PassthroughChoice.Export> exports(String meshName) {
        Known k = known.get(meshName);
        if (k != null && k.at().plus(REMEMBER).isAfter(clock.instant())) {
            return k.exports();
        }
        List<PassthroughChoice.Export> exports = new ArrayList<>();
        try {
            HttpResponse<String> r = api.send(HttpRequest.newBuilder(registryApi.resolve("/v1/services/" + meshName))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                for (JsonNode e : JSON.readTree(r.body()).path("exports")) {
                    List<PassthroughChoice.Port> ports = new ArrayList<>();
                    e.path("ports").forEach(p -> ports.add(new PassthroughChoice.Port(p.path("port").asInt(),
                            p.path("protocol").asText().toLowerCase(Locale.ROOT))));
                    List<String> ids = new ArrayList<>();
                    e.path("identities").forEach(i -> ids.add(i.asText()));
                    exports.add(new PassthroughChoice.Export(e.path("cluster").asText(), e.path("routable").asBoolean(),
                            ports, ids));
                }
            } else if (r.statusCode() != 404) {
                LOG.debugf("registry lookup of %s: %d %s; going via the gateway", meshName, r.statusCode(), r.body());
                return List.of();
            }
        } catch (IOException e) {
            LOG.debugf("registry lookup of %s failed (%s); going via the gateway", meshName, e.getMessage());
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
        known.put(meshName, new Known(clock.instant(), List.copyOf(exports)));
        return exports;
    }

    /** The gateway egress, as an address literal: the server name comes from the route, never from the URI. */
    public URI base() throws IOException {
        InetAddress ip = InetAddress.getByName(gatewayEgress.getHostString());
        String host = ip instanceof java.net.Inet6Address ? "[" + ip.getHostAddress() + "]" : ip.getHostAddress();
        return URI.create("https://" + host + ":" + gatewayEgress.getPort());
    }

    /** The client for one passthrough destination (made once, kept). */
    public HttpClient client(PassthroughChoice.Passthrough route) {
        if (clients.size() > MAX_CLIENTS && !clients.containsKey(route)) {
            clients.values().forEach(HttpClient::close);
            clients.clear();
        }
        return clients.computeIfAbsent(route, this::newClient);
    }

    private HttpClient newClient(PassthroughChoice.Passthrough route) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new KeyManager[] {new SvidKeyManager(svid)}, new TrustManager[] {new SpiffeTrustManager(
                    new X509SvidVerifier(roots, bundles, clock, Duration.ofSeconds(30)),
                    id -> route.identities().contains(id) ? null : "one of " + route.identities().stream()
                            .map(SpiffeId::toString).sorted().toList() + " (the identities the registry names for "
                            + route.serverName() + ")")}, null);
            SSLParameters params = ctx.getDefaultSSLParameters();
            params.setServerNames(List.of(new SNIHostName(route.serverName())));
            params.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            return HttpClient.newBuilder().sslContext(ctx).sslParameters(params).version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS for " + route.serverName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        clients.values().forEach(HttpClient::close);
        api.close();
    }
}
