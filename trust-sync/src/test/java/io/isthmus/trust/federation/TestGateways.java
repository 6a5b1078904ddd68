package io.isthmus.trust.federation;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;

/**
 * Gateways' trust runtimes for a test: each with its real bundle endpoint on loopback, polling its peers every
 * second, all under {@code pki}'s roots; {@link #close} stops every one started so far.
 */
final class TestGateways implements AutoCloseable {
    private final TestCa pki;
    private final List<TrustRuntime> started = new ArrayList<>();

    TestGateways(TestCa pki) {
        this.pki = pki;
    }

    /** {@code <name>.acme.internal}. */
    static TrustDomain td(String name) {
        return new TrustDomain(name + ".acme.internal");
    }

    /** Starts gateway {@code name} of trust domain {@link #td}, its data in {@code dir}, its bundle endpoint on port. */
    TrustRuntime start(String name, CaCredential intermediate, Path dir, int port, List<PeerConfig> peers, Clock clock)
            throws IOException {
        SyncSettings sync = new SyncSettings(Duration.ofSeconds(1), Duration.ofMillis(200), Duration.ofMinutes(1),
                Duration.ofMillis(200), Duration.ofSeconds(2), 3);
        TrustRuntime r = TrustRuntime.start(new TrustSettings(td(name), pki.roots(), intermediate,
                SpiffeId.ofServiceAccount(td(name), "isthmus-system", "isthmus-gateway"), dir,
                new InetSocketAddress("127.0.0.1", port), Duration.ofSeconds(1), Duration.ofHours(1),
                Duration.ofSeconds(30), peers, sync), clock, new SyncListener() { });
        started.add(r);
        return r;
    }

    @Override
    public void close() {
        started.forEach(TrustRuntime::close);
        started.clear();
    }
}
