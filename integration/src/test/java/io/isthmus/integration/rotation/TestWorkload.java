package io.isthmus.integration.rotation;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

import io.isthmus.agent.AgentRuntime;
import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;

/**
 * A workload whose identity comes from its cluster's gateway, as a mesh workload's would: it enrols with a join token
 * and keeps its SVID renewed (the VM agent's runtime, in this JVM), renewing early when a rotation retires its signer
 * and taking new bundles as they come. It calls its gateway's egress over TLS with its current SVID, on a fresh
 * connection per call, and authenticates the egress against its current bundles and the root file.
 */
final class TestWorkload implements AutoCloseable {
    private final AgentRuntime runtime;
    private final SSLContext tls;
    private final RootAnchoredTrustManager trust;

    private TestWorkload(AgentRuntime runtime, RootAnchoredTrustManager trust, SSLContext tls) {
        this.runtime = runtime;
        this.trust = trust;
        this.tls = tls;
    }

    /**
     * Enrols at {@code gateway} (its API URL; its gateway SVID must be of {@code trustDomain}) with {@code token}; state
     * under {@code stateDir}.
     */
    static TestWorkload enrol(URI gateway, TrustDomain trustDomain, String token, RootsSource roots, Path stateDir)
            throws Exception {
        GatewayClient client = new GatewayClient(gateway, roots, trustDomain, Clock.systemUTC());
        GatewayClient.Issued issued = client.enrol(token);
        AgentState state = new AgentState(gateway, trustDomain, issued.svid(), issued.bundles());
        StateDir dir = new StateDir(stateDir);
        dir.save(state);
        AgentRuntime runtime = new AgentRuntime(state, dir, client, Clock.systemUTC(), AgentRuntime.defaultBackoff(),
                Optional.of(Duration.ofSeconds(1)), Duration.ofSeconds(2));
        runtime.start();
        RootAnchoredTrustManager trust = new RootAnchoredTrustManager(null, PeerPolicy.anyFederated(), roots,
                td -> runtime.current().bundles().bundleFor(td), Clock.systemUTC(), Duration.ofSeconds(2));
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {new SvidKeyManager(() -> runtime.current().svid())}, new TrustManager[] {trust}, null);
        return new TestWorkload(runtime, trust, ctx);
    }

    X509Svid svid() {
        return runtime.current().svid();
    }

    AgentRuntime runtime() {
        return runtime;
    }

    SvidKeyManager keyManager() {
        return new SvidKeyManager(() -> runtime.current().svid());
    }

    RootAnchoredTrustManager trustManager() {
        return trust;
    }

    /** One HTTP/1.1 GET through the egress at {@code egress} (host:port) for {@code host}; a status of -1 on failure. */
    Call get(String egress, String host, String path) {
        String[] hp = egress.split(":");
        long start = System.nanoTime();
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 3000);
            s.setSoTimeout(15_000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            String raw = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            int status = raw.startsWith("HTTP/1.1 ") ? Integer.parseInt(raw.substring(9, 12)) : -1;
            return new Call(status, raw, (System.nanoTime() - start) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            return new Call(-1, e.toString(), (System.nanoTime() - start) / 1_000_000);
        }
    }

    record Call(int status, String body, long millis) {
    }

    @Override
    public void close() {
        runtime.close();
    }

}
