package io.isthmus.trust.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.federation.SyncListener;
import io.isthmus.trust.federation.SyncSettings;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Two gateways' trust runtimes ({@code a.acme.internal}, {@code b.acme.internal}) in this JVM, federated with each other
 * over real bundle endpoints on loopback, that poll each other once at start and then only hourly: whatever one learns
 * of the other later, it learned from a refresh hint. Hinted pulls at most every 300 ms per peer.
 */
public final class HourlyPeers implements AutoCloseable {
    public static final TrustDomain A = new TrustDomain("a.acme.internal");
    public static final TrustDomain B = new TrustDomain("b.acme.internal");
    private static final Duration HOUR = Duration.ofHours(1);

    private final TrustRuntime a;
    private TrustRuntime b;
    private final int portB;

    private HourlyPeers(TrustRuntime a, TrustRuntime b, int portB) {
        this.a = a;
        this.b = b;
        this.portB = portB;
    }

    /** Starts both, each with its own data directory under {@code dataRoot}. */
    public static HourlyPeers start(Path dataRoot) throws IOException {
        TestCa pki = TestCa.create();
        int pa = FreePorts.next();
        int pb = FreePorts.next();
        TrustRuntime a = TrustRuntime.start(settings(pki, dataRoot, A, pa, B, pb), Clock.systemUTC(), new SyncListener() { });
        try {
            return new HourlyPeers(a, TrustRuntime.start(settings(pki, dataRoot, B, pb, A, pa), Clock.systemUTC(),
                    new SyncListener() { }), pb);
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
    }

    private static TrustSettings settings(TestCa pki, Path dataRoot, TrustDomain td, int port, TrustDomain peer,
            int peerPort) {
        return new TrustSettings(td, pki.roots(), pki.intermediate(td.name()),
                SpiffeId.ofServiceAccount(td, "isthmus-system", "isthmus-gateway"), dataRoot.resolve(td.name()),
                new InetSocketAddress("127.0.0.1", port), HOUR, HOUR, Duration.ofSeconds(30),
                List.of(new PeerConfig("cluster-" + peer.name(), peer, URI.create("https://127.0.0.1:" + peerPort + "/"),
                        Optional.empty())),
                new SyncSettings(HOUR, Duration.ofMillis(300), HOUR, Duration.ofMillis(200), Duration.ofSeconds(2), 3));
    }

    public TrustRuntime a() {
        return a;
    }

    public TrustRuntime b() {
        return b;
    }

    /** b's bundle endpoint port. */
    public int portB() {
        return portB;
    }

    /** Stops b, as a peer that went away. */
    public void stopB() {
        if (b != null) {
            b.close();
            b = null;
        }
    }

    @Override
    public void close() {
        stopB();
        a.close();
    }
}
