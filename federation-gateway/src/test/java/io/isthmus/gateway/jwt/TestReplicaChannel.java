package io.isthmus.gateway.jwt;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.infinispan.manager.EmbeddedCacheManager;

import io.isthmus.gateway.enrolment.TestReplicas;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.federation.BundleStore;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * One cluster's replica channel for tests: real embedded Infinispan nodes over JGroups TCP on loopback (fixed member
 * list of free ports, one cluster name per test class and JVM), and a directory per replica for its files.
 */
final class TestReplicaChannel {
    private final String cluster;
    private final Path dir;
    private final List<InetSocketAddress> members = new ArrayList<>();
    private final TestCa pki;

    TestReplicaChannel(String name, int size, TestCa pki) throws IOException {
        this.cluster = name + "-" + ProcessHandle.current().pid() + "-" + FreePorts.next();
        this.dir = Files.createTempDirectory(name);
        this.pki = pki;
        InetAddress lo = InetAddress.getLoopbackAddress();
        for (int i = 0; i < size; i++) {
            members.add(new InetSocketAddress(lo, FreePorts.next()));
        }
    }

    /** A node of the channel bound to member {@code index}, named {@code name}. */
    EmbeddedCacheManager join(String name, int index) {
        return TestReplicas.start(new TestReplicas.Membership(cluster, name, members.get(index), members));
    }

    /** The replica's own directory. */
    Path dir(String name) throws IOException {
        return Files.createDirectories(dir.resolve(name));
    }

    /** A local bundle of {@code td} for replica {@code name}, its intermediate from the test PKI. */
    LocalBundle bundle(String name, TrustDomain td) throws IOException {
        LocalBundle bundle = new LocalBundle(td, new BundleStore(dir(name), new BundleCodec()),
                new AuthorityValidator(pki.roots(), Duration.ofSeconds(30)), Clock.systemUTC(), Duration.ofMinutes(5));
        bundle.initialize(pki.intermediate(td.name()).certificate());
        return bundle;
    }

    /** Until every one of {@code managers} sees all of them in its view. */
    static void awaitView(EmbeddedCacheManager... managers) {
        await().atMost(Duration.ofSeconds(30)).until(() -> Arrays.stream(managers)
                .allMatch(m -> m.getMembers() != null && m.getMembers().size() == managers.length));
    }
}
