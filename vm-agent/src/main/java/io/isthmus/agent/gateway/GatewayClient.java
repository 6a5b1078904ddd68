package io.isthmus.agent.gateway;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import org.bouncycastle.asn1.x500.X500Name;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.tls.SvidSource;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Csrs;
import io.isthmus.trust.x509.Pem;

/**
 * Talks to the gateway's enrolment API. The gateway is authenticated by its SVID: before the agent holds a
 * bundle, from the federation root (intermediate constrained to the trust domain); after, against the bundle.
 * Its SPIFFE ID must be the gateway's of the one trust domain this client was made for
 * ({@code spiffe://<td>/ns/isthmus-system/sa/isthmus-gateway}): a gateway of another federated trust domain, whose
 * SVID is as genuine under the federation root, is refused before a join token, a CSR or a client certificate is
 * sent to it. There is no "any trust domain" mode. Private keys never leave this class except inside the returned
 * SVID.
 */
public final class GatewayClient {
    public static final String GATEWAY_PATH = "/ns/isthmus-system/sa/isthmus-gateway";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private final URI gateway;
    private final RootsSource roots;
    private final TrustDomain trustDomain;
    private final Clock clock;
    private final BundleCodec codec = new BundleCodec();

    /**
     * @param roots the federation roots, read on every handshake (the agent's root file is watched: a root added
     *     while the federation rotates its root applies without a restart)
     * @param trustDomain the gateway's trust domain, required: for enrolment the one the join token was made for
     *     ({@code --trust-domain}), after it the VM's own (from its SVID). A gateway's SVID of any other trust domain
     *     is refused, however genuine under the federation root
     * @throws IllegalArgumentException if {@code trustDomain} is null
     */
    public GatewayClient(URI gateway, RootsSource roots, TrustDomain trustDomain, Clock clock) {
        if (trustDomain == null) {
            throw new IllegalArgumentException("the gateway's trust domain is required: without it a gateway of any "
                    + "federated trust domain (a genuine SVID under the federation root) would be sent the join token, "
                    + "and could redeem it at the real gateway");
        }
        this.gateway = gateway;
        this.roots = roots;
        this.trustDomain = trustDomain;
        this.clock = clock;
    }

    /** Enrols: creates the key here, sends only the CSR, returns the SVID over that key and the bundles. */
    public Issued enrol(String token) throws GatewayException {
        KeyPair keys = Crypto.generateEcP256();
        String body = JSON.createObjectNode().put("token", token).put("csr", csr(keys)).toString();
        Issued issued = issued(post("/v1/enrol", body, null, ignored -> java.util.Optional.empty()), keys);
        if (!issued.svid().id().memberOf(trustDomain)) {
            throw new GatewayException("bad-reply", 0, "the gateway of " + trustDomain + " signed an SVID of another "
                    + "trust domain: " + issued.svid().id(), null);
        }
        return issued;
    }

    /** The one trust domain whose gateway this client talks to. */
    public TrustDomain trustDomain() {
        return trustDomain;
    }

    /** Renews with the current SVID as TLS client certificate and a CSR over a fresh key. */
    public Issued renew(X509Svid current, BundleSet bundles) throws GatewayException {
        KeyPair keys = Crypto.generateEcP256();
        String body = JSON.createObjectNode().put("csr", csr(keys)).toString();
        return issued(post("/v1/renew", body, () -> current, bundles), keys);
    }

    /**
     * A JWT-SVID for {@code subject} (the agent's own ID or one under its path) and {@code audience}, signed by the
     * cluster's JWT authority; authenticated by the current SVID as TLS client certificate. The token is not
     * checked here: the caller validates it against the bundles before serving it.
     */
    public JwtSvidReply jwtSvid(X509Svid current, BundleSet bundles, SpiffeId subject, List<String> audience)
            throws GatewayException {
        var body = JSON.createObjectNode().put("spiffeId", subject.toString());
        audience.forEach(body.putArray("audience")::add);
        JsonNode reply = post("/v1/agent/jwt-svid", body.toString(), () -> current, bundles);
        try {
            return new JwtSvidReply(SpiffeId.parseWorkload(reply.path("spiffeId").asText()), reply.path("token").asText(),
                    java.time.Instant.parse(reply.path("expiresAt").asText()));
        } catch (RuntimeException e) {
            throw new GatewayException("bad-reply", 0, "the gateway's JWT-SVID reply is not usable: " + e.getMessage(), e);
        }
    }

    /** The gateway's answer to {@link #jwtSvid}. */
    public record JwtSvidReply(SpiffeId id, String token, java.time.Instant expiresAt) {
        @Override
        public String toString() {
            return "JwtSvidReply[" + id + ", exp " + expiresAt + "]";
        }
    }

    /**
     * An SVID for a workload on this VM ({@code id} is the VM's own or under it; the gateway refuses others with
     * {@code workload-id-refused}), authenticated by the agent's current SVID, over a fresh key made here.
     */
    public Issued issueWorkload(X509Svid agent, BundleSet bundles, SpiffeId id) throws GatewayException {
        KeyPair keys = Crypto.generateEcP256();
        String body = JSON.createObjectNode().put("spiffeId", id.toString()).put("csr", csr(keys)).toString();
        Issued issued = issued(post("/v1/agent/workload-svid", body, () -> agent, bundles), keys);
        if (!issued.svid().id().equals(id)) {
            throw new GatewayException("bad-reply", 0, "asked for an SVID for " + id + ", the gateway signed "
                    + issued.svid().id(), null);
        }
        return issued;
    }

    /**
     * {@code GET /v1/agent/registration-entries}: the entries the gateway holds for this agent (the JSON array, not
     * checked here: the caller checks every entry against its own ID), authenticated by {@code current} as TLS
     * client certificate; the gateway decides whose entries from that certificate alone.
     */
    public JsonNode registrationEntries(X509Svid current, BundleSet bundles) throws GatewayException {
        HttpRequest request = HttpRequest.newBuilder(gateway.resolve("/v1/agent/registration-entries")).timeout(TIMEOUT)
                .GET().build();
        JsonNode reply = send(client(() -> current, bundles), request, "/v1/agent/registration-entries");
        if (!reply.path("entries").isArray() || !current.id().toString().equals(reply.path("agent").asText())) {
            throw new GatewayException("bad-reply", 200, "the gateway's registration entries answer is not this agent's "
                    + "(agent " + reply.path("agent") + ", expected " + current.id() + ")", null);
        }
        return reply.path("entries");
    }

    /** An SVID and the bundles of every federated trust domain, as the gateway answered. */
    public record Issued(X509Svid svid, BundleSet bundles) {
    }

    /**
     * What the gateway says between renewals: the bundles, the serial of the CA that signs now (an SVID signed by
     * another one is being retired: renew early), and how often to ask again.
     */
    public record Trust(String signer, Duration refresh, BundleSet bundles) {
    }

    /** Asks {@code GET /v1/agent/trust}; no client certificate, the gateway authenticated against {@code known}. */
    public Trust trust(BundleSet known) throws GatewayException {
        HttpClient client = client(null, known);
        HttpRequest request = HttpRequest.newBuilder(gateway.resolve("/v1/agent/trust")).timeout(TIMEOUT).GET().build();
        JsonNode reply = send(client, request, "/v1/agent/trust");
        try {
            return new Trust(reply.path("signer").asText(), Duration.ofSeconds(Math.max(1, reply.path("refreshSeconds")
                    .asLong(300))), bundles(reply.path("bundles")));
        } catch (RuntimeException e) {
            throw new GatewayException("bad-reply", 0, "the gateway's trust answer is not usable: " + e.getMessage(), e);
        }
    }

    private Issued issued(JsonNode reply, KeyPair keys) throws GatewayException {
        try {
            List<X509Certificate> chain = Pem.readCertificates(reply.path("svidChain").asText(), "gateway reply");
            X509Svid svid = new X509Svid(SpiffeId.parseWorkload(reply.path("spiffeId").asText()), keys.getPrivate(), chain);
            return new Issued(svid, bundles(reply.path("bundles")));
        } catch (RuntimeException e) {
            throw new GatewayException("bad-reply", 0, "the gateway's reply is not a usable SVID: " + e.getMessage(), e);
        }
    }

    private BundleSet bundles(JsonNode json) {
        List<TrustBundle> bundles = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            TrustDomain td = TrustDomain.parse(e.getKey());
            bundles.add(codec.parse(td, e.getValue().toString().getBytes(StandardCharsets.UTF_8),
                    gateway + " bundle of " + td).bundle());
        }
        return BundleSet.of(bundles);
    }

    private JsonNode post(String path, String body, SvidSource clientSvid, BundleSource known) throws GatewayException {
        HttpClient client = client(clientSvid, known);
        HttpRequest request = HttpRequest.newBuilder(gateway.resolve(path)).timeout(TIMEOUT)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return send(client, request, path);
    }

    private JsonNode send(HttpClient client, HttpRequest request, String path) throws GatewayException {
        HttpResponse<String> r;
        try {
            r = client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new GatewayException("unreachable", 0, "gateway " + gateway + " unreachable: "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GatewayException("unreachable", 0, "interrupted", e);
        } finally {
            client.close();
        }
        JsonNode json;
        try {
            json = JSON.readTree(r.body());
        } catch (IOException e) {
            throw new GatewayException("bad-reply", r.statusCode(), "gateway answered " + r.statusCode()
                    + " with a body that is not JSON", e);
        }
        if (r.statusCode() != 200) {
            throw new GatewayException(json.path("code").asText("http-" + r.statusCode()), r.statusCode(),
                    "gateway refused " + path + " (" + r.statusCode() + " " + json.path("code").asText() + "): "
                            + json.path("detail").asText(), null);
        }
        return json;
    }

    /**
     * An HTTPS client that authenticates the gateway exactly as enrolment and renewal do, presenting {@code clientSvid}:
     * a renewed SVID gets new connections ({@link SvidBoundHttpClient}). For the agent's other calls: service
     * registration and the local egress. The caller closes it.
     */
    public HttpClient httpClient(SvidSource clientSvid, BundleSource known) {
        return new SvidBoundHttpClient(clientSvid, () -> client(clientSvid, known));
    }

    /** The gateway's enrolment URI, {@code https://host:15012}. */
    public URI gateway() {
        return gateway;
    }

    private HttpClient client(SvidSource clientSvid, BundleSource known) {
        PeerPolicy policy = id -> id.path().equals(GATEWAY_PATH) && id.memberOf(trustDomain)
                ? null : "the gateway of " + trustDomain + " (spiffe://" + trustDomain + GATEWAY_PATH + ")";
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(clientSvid == null ? null : new KeyManager[] {new SvidKeyManager(clientSvid)},
                    new TrustManager[] {new RootAnchoredTrustManager(trustDomain, policy, roots, known, clock,
                            Duration.ofSeconds(30))}, null);
            // No session resumption either: a resumed session shows the gateway the SVID of its first handshake.
            ctx.getClientSessionContext().setSessionTimeout(1);
            return HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    static String csr(KeyPair keys) {
        // The subject is irrelevant: the gateway takes the identity from the token or the current SVID.
        return Csrs.create(keys, new X500Name("O=isthmus-agent"));
    }
}
