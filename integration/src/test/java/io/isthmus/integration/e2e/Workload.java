package io.isthmus.integration.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import java.security.GeneralSecurityException;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.integration.federation.FederationPki;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.x509.Pem;

/**
 * A workload of one cluster holding an SVID issued by that cluster's intermediate, as a mesh sidecar or SPIFFE
 * client would: it calls its gateway's egress over TLS with that SVID and speaks raw HTTP/1.1, so the test sees
 * exactly what goes over the wire.
 */
public final class Workload {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SpiffeId id;
    private final SSLContext tls;

    private Workload(SpiffeId id, SSLContext tls) {
        this.id = id;
        this.tls = tls;
    }

    public static Workload issue(FederationPki pki, String spiffeId) throws IOException {
        SpiffeId id = SpiffeId.parse(spiffeId);
        FederationPki.Intermediate files = pki.intermediate(id.trustDomain());
        CaCredential ca = new CaCredential(Pem.readPrivateKey(files.key()), Pem.readCertificates(files.chain()));
        return holding(new SvidIssuer(Clock.systemUTC()).issue(ca, id, Duration.ofMinutes(30)), pki.rootCertificate());
    }

    /** A peer presenting {@code svid} (say, one a gateway issued to an enrolled VM), trusting the federation root. */
    static Workload holding(X509Svid svid, java.nio.file.Path rootCertificate) throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new KeyManager[] {new SvidKeyManager(() -> svid)}, new TrustManager[] {rootTrust(rootCertificate)},
                    null);
            return new Workload(svid.id(), ctx);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A TLS context without a client certificate that trusts servers under the federation root (no host names). */
    static SSLContext trustingRoot(java.nio.file.Path rootCertificate) throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {rootTrust(rootCertificate)}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RootAnchoredTrustManager rootTrust(java.nio.file.Path rootCertificate) throws IOException {
        return new RootAnchoredTrustManager(null, PeerPolicy.anyFederated(),
                new FederationRoots(Pem.readCertificates(rootCertificate)), td -> Optional.empty(), Clock.systemUTC(),
                Duration.ofSeconds(30));
    }

    /** Its TLS context (its SVID as client certificate), for clients other than the raw one here. */
    SSLContext tls() {
        return tls;
    }

    /** Writes an SVID of {@code spiffeId} as {@code <base>.pem} (chain) and {@code <base>.key}, for curl. */
    static void writeFiles(FederationPki pki, String spiffeId, java.nio.file.Path base) throws IOException {
        SpiffeId id = SpiffeId.parse(spiffeId);
        FederationPki.Intermediate files = pki.intermediate(id.trustDomain());
        CaCredential ca = new CaCredential(Pem.readPrivateKey(files.key()), Pem.readCertificates(files.chain()));
        X509Svid svid = new SvidIssuer(Clock.systemUTC()).issue(ca, id, Duration.ofMinutes(30));
        java.nio.file.Files.writeString(java.nio.file.Path.of(base + ".pem"), Pem.write(svid.chain().toArray()));
        java.nio.file.Files.writeString(java.nio.file.Path.of(base + ".key"), Pem.writePrivateKey(svid.key()));
    }

    SpiffeId id() {
        return id;
    }

    /** One request over a fresh TLS connection; {@code status -1} with the error when the call failed. */
    public Response call(String hostPort, String requestHead) {
        String[] hp = hostPort.split(":");
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 3000);
            s.setSoTimeout(10_000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(requestHead.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return Response.parse(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1));
        } catch (IOException | RuntimeException e) {
            return new Response(-1, List.of(), e.toString());
        }
    }

    /**
     * An L4 caller: {@code CONNECT authority} through the egress, then {@code payload} over the tunnel. The status is
     * the CONNECT's; the body is what came back through the tunnel (up to the payload's length), or the refusal.
     */
    Response tunnel(String hostPort, String authority, String payload) {
        String[] hp = hostPort.split(":");
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 3000);
            s.setSoTimeout(10_000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                head.append((char) b);
            }
            Response opened = Response.parse(head.toString());
            if (opened.status() != 200) {
                return Response.parse(head + new String(in.readAllBytes(), StandardCharsets.ISO_8859_1));
            }
            out.write(payload.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            byte[] echoed = in.readNBytes(payload.length());
            return new Response(200, opened.headers(), new String(echoed, StandardCharsets.ISO_8859_1));
        } catch (IOException | RuntimeException e) {
            return new Response(-1, List.of(), e.toString());
        }
    }

    Response get(String egress, String host, String path) {
        return call(egress, "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    }

    public record Response(int status, List<String> headers, String body) {
        static Response parse(String raw) {
            int end = raw.indexOf("\r\n\r\n");
            if (!raw.startsWith("HTTP/1.1 ") || end < 0) {
                return new Response(-1, List.of(), "not an HTTP response: " + raw);
            }
            String[] lines = raw.substring(0, end).split("\r\n");
            List<String> headers = new ArrayList<>(List.of(lines).subList(1, lines.length));
            return new Response(Integer.parseInt(lines[0].substring(9, 12)), headers, raw.substring(end + 4));
        }

        Optional<String> header(String name) {
            return headers.stream().filter(h -> h.regionMatches(true, 0, name + ":", 0, name.length() + 1))
                    .map(h -> h.substring(name.length() + 1).trim()).findFirst();
        }

        /** What the sample backend reported about this call (a 200 with its JSON body); empty otherwise. */
        Optional<Served> served() {
            if (status != 200) {
                return Optional.empty();
            }
            try {
                JsonNode json = JSON.readTree(body);
                return Optional.of(new Served(json.path("cluster").asText(), json.path("caller").asText(),
                        json.path("xfcc").asText()));
            } catch (IOException e) {
                return Optional.empty();
            }
        }

        @Override
        public String toString() {
            return status + " " + headers + " " + body;
        }
    }

    /**
     * Who served a call and as whom its backend saw the caller: the cluster, the caller's SPIFFE ID and the
     * {@code x-forwarded-client-cert} the serving cluster's ingress gateway set.
     */
    record Served(String cluster, String caller, String xfcc) {
        /** What a backend of {@code cluster} reports when that cluster's gateway verified and passed on {@code caller}. */
        static Served by(String cluster, String caller) {
            return new Served(cluster, caller, "By=spiffe://" + cluster + ".acme.internal/ns/isthmus-system/sa/"
                    + "isthmus-gateway;URI=" + caller);
        }

        /** Whether the backend saw {@code caller}, passed on by the gateway of the cluster that served the call. */
        boolean passedOn(String caller) {
            return equals(by(cluster, caller));
        }
    }

}
