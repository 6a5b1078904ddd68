package io.isthmus.agent.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.MetadataUtils;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import io.isthmus.agent.attest.WorkloadAttestation;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;

/**
 * Attestation on the real socket, with this test JVM as the caller: its SO_PEERCRED and /proc entries decide. The
 * caller gets every matching entry's SVID, sorted, and nothing for an entry it does not match; a caller matching
 * nothing gets PERMISSION_DENIED on SVIDs and bundles alike. (Different users: VmWorkloadAttestationE2ETest.)
 */
class AttestedWorkloadApiTest {
    private static final TrustDomain TD = new TrustDomain("vm.test");
    private static final String VM = "spiffe://vm.test/ns/shop/sa/vm";
    private static final io.isthmus.trust.jwt.JwtSigningKey JWT_KEY = io.isthmus.trust.jwt.JwtSigningKey.generate();

    private Path dir;
    private CaCredential ca;
    private AgentState state;
    private Map<SpiffeId, X509Svid> workloadSvids;
    private WorkloadApiServer server;
    private WorkloadAttestation attestation;

    @BeforeEach
    void pki() throws Exception {
        ca = TestCa.create().intermediate(TD.name());
        state = new AgentState(URI.create("https://127.0.0.1:1"), TD, TestCa.svid(ca, VM), BundleSet.of(List.of(
                new TrustBundle(TD, List.of(ca.certificate()), List.of(JWT_KEY.authority()), 1, Optional.empty()))));
        workloadSvids = Map.of(SpiffeId.parse(VM + "/me"), TestCa.svid(ca, VM + "/me"),
                SpiffeId.parse(VM + "/also-me"), TestCa.svid(ca, VM + "/also-me"),
                SpiffeId.parse(VM + "/other-user"), TestCa.svid(ca, VM + "/other-user"),
                SpiffeId.parse(VM + "/other-binary"), TestCa.svid(ca, VM + "/other-binary"));
        dir = Files.createTempDirectory("isthmus-attest");
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        Files.deleteIfExists(dir.resolve("api.sock"));
        Files.deleteIfExists(dir);
    }

    private void serve(RegistrationEntry... entries) throws Exception {
        // The JWT-SVID "gateway" signs whatever subject it is asked for: the agent alone decides whom it asks for.
        io.isthmus.agent.jwt.JwtSvidCache jwt = new io.isthmus.agent.jwt.JwtSvidCache((subject, audience) ->
                io.isthmus.trust.jwt.JwtSvidSigner.sign(JWT_KEY, subject, audience, java.time.Instant.now(),
                        java.time.Duration.ofMinutes(5)).token(),
                td -> state.bundles().bundleFor(td), java.time.Clock.systemUTC());
        attestation = WorkloadAttestation.unix(List.of(entries));
        server = WorkloadApiServer.start(dir.resolve("api.sock"), () -> state, attestation,
                id -> Optional.ofNullable(workloadSvids.get(id)), jwt);
    }

    @Test
    void replacedEntriesDecideTheNextCallWithoutARestart() throws Exception {
        serve(entry(VM + "/other-user", "unix:uid:" + (Integer.parseInt(myUid()) + 4242)));
        try (Connection c = connect(5)) {
            var stub = c.stub();
            assertDenied(() -> stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next());
            // As when the gateway's entries or the reloaded file now name this caller.
            attestation.replaceEntries(List.of(entry(VM + "/me", "unix:uid:" + myUid())));
            assertThat(stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next().getSvidsList())
                    .extracting(Workload.X509SVID::getSpiffeId).containsExactly(VM + "/me");
            attestation.replaceEntries(List.of());
            assertDenied(() -> stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next());
        }
    }

    /**
     * Streams opened before the entries change: each keeps only what its caller matches now (the new ID only when an
     * entry's ID changes, never both), and ends with PERMISSION_DENIED when its caller matches nothing, bundles
     * streams included. A publish after the end (a renewal) reaches nobody.
     */
    @Test
    void openStreamsGiveUpWhatReplacedEntriesNoLongerGrant() throws Exception {
        serve(entry(VM + "/me", "unix:uid:" + myUid()), entry(VM + "/also-me", "unix:uid:" + myUid()));
        try (Connection c = connect(10)) {
            var stub = c.stub();
            var svids = stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance());
            var bundles = stub.fetchX509Bundles(Workload.X509BundlesRequest.getDefaultInstance());
            var jwtBundles = stub.fetchJWTBundles(Workload.JWTBundlesRequest.getDefaultInstance());
            assertThat(ids(svids.next())).containsExactly(VM + "/also-me", VM + "/me");
            assertThat(bundles.next().getBundlesMap()).containsOnlyKeys(TD.id().toString());
            assertThat(jwtBundles.next().getBundlesMap()).containsOnlyKeys(TD.id().toString());

            attestation.replaceEntries(List.of(entry(VM + "/me", "unix:uid:" + myUid())));
            assertThat(ids(svids.next())).as("an entry deleted, another stands").containsExactly(VM + "/me");
            attestation.replaceEntries(List.of(entry(VM + "/also-me", "unix:uid:" + myUid())));
            assertThat(ids(svids.next())).as("the entry's ID changed: the new one only").containsExactly(VM + "/also-me");
            server.publish(state);
            assertThat(ids(svids.next())).as("a renewal carries what the stream holds now").containsExactly(VM + "/also-me");

            attestation.replaceEntries(List.of(entry(VM + "/also-me", "unix:uid:" + (Integer.parseInt(myUid()) + 4242))));
            server.publish(state);
            assertDenied(svids::next);
            for (var stream : List.of(bundles, jwtBundles)) {
                assertDenied(() -> {
                    while (true) {
                        stream.next(); // the bundles sent again on each change, then the end
                    }
                });
            }
            // The same caller calling again is refused too; a stream opened now is refused at once.
            assertDenied(() -> stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next());
        }
    }

    private static List<String> ids(Workload.X509SVIDResponse response) {
        return response.getSvidsList().stream().map(Workload.X509SVID::getSpiffeId).toList();
    }

    @Test
    void jwtSvidsAreIssuedOnlyForTheIdentitiesTheCallerIsAttestedAs() throws Exception {
        serve(entry(VM + "/me", "unix:uid:" + myUid()),
                entry(VM + "/other-user", "unix:uid:" + (Integer.parseInt(myUid()) + 4242)));
        try (Connection c = connect(5)) {
            var stub = c.stub();
            Workload.JWTSVIDResponse mine = stub.fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("db")
                    .build());
            assertThat(mine.getSvidsList()).extracting(Workload.JWTSVID::getSpiffeId).containsExactly(VM + "/me");
            for (String other : List.of(VM + "/other-user", VM)) {
                assertThatThrownBy(() -> stub.fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("db")
                        .setSpiffeId(other).build()))
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                                .isEqualTo(Status.Code.PERMISSION_DENIED));
            }
        }
    }

    /** A raw gRPC connection to the socket (a client java-spiffe would not be: it retries a denied call). */
    private record Connection(EventLoopGroup group, ManagedChannel channel, int deadlineSeconds) implements AutoCloseable {
        SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub() {
            Metadata header = new Metadata();
            header.put(SecurityHeaderInterceptor.HEADER, "true");
            return SpiffeWorkloadAPIGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(header));
        }

        @Override
        public void close() {
            channel.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private Connection connect(int deadlineSeconds) {
        EventLoopGroup group = new EpollEventLoopGroup(1);
        return new Connection(group, NettyChannelBuilder.forAddress(new DomainSocketAddress(dir.resolve("api.sock")
                .toString())).channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build(),
                deadlineSeconds);
    }

    private static RegistrationEntry entry(String id, String... selectors) {
        TreeSet<Selector> set = new TreeSet<>();
        for (String s : selectors) {
            set.add(Selector.parse(s));
        }
        return new RegistrationEntry(SpiffeId.parse(id), set);
    }

    private static String myUid() throws Exception {
        return Files.getAttribute(Path.of("/proc/self"), "unix:uid").toString();
    }

    private static String myBinaryHash() throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(
                Path.of(ProcessHandle.current().info().command().orElseThrow()))));
    }

    @Test
    void aCallerGetsTheSvidsOfEveryEntryItMatchesSortedAndNoOther() throws Exception {
        String exe = Path.of("/proc/self/exe").toRealPath().toString();
        serve(entry(VM + "/me", "unix:uid:" + myUid(), "unix:sha256:" + myBinaryHash(), "unix:path:" + exe),
                entry(VM + "/also-me", "unix:uid:" + myUid()),
                entry(VM + "/other-user", "unix:uid:" + (Integer.parseInt(myUid()) + 4242)),
                entry(VM + "/other-binary", "unix:uid:" + myUid(), "unix:sha256:" + "0".repeat(64)));
        try (WorkloadApiClient client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath("unix:" + dir.resolve("api.sock")).build())) {
            X509Context context = client.fetchX509Context();
            assertThat(context.getX509Svids()).extracting(s -> s.getSpiffeId().toString())
                    .containsExactly(VM + "/also-me", VM + "/me");
            assertThat(context.getX509Svids().get(1).getLeaf()).isEqualTo(workloadSvids.get(SpiffeId.parse(VM + "/me")).leaf());
        }
    }

    @Test
    void aCallerMatchingNothingGetsPermissionDeniedForSvidsAndBundles() throws Exception {
        serve(entry(VM + "/other-user", "unix:uid:" + (Integer.parseInt(myUid()) + 4242)));
        try (Connection c = connect(5)) {
            var stub = c.stub();
            assertDenied(() -> stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next());
            assertDenied(() -> stub.fetchX509Bundles(Workload.X509BundlesRequest.getDefaultInstance()).next());
            assertDenied(() -> stub.fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("db").build()));
            assertDenied(() -> stub.fetchJWTBundles(Workload.JWTBundlesRequest.getDefaultInstance()).next());
        }
    }

    @Test
    void aThousandRefusedCallsWriteOneLineAndAreAllCounted() throws Exception {
        serve(entry(VM + "/other-user", "unix:uid:" + (Integer.parseInt(myUid()) + 4242)));
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(AttestationInterceptor.class.getName());
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                lines.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(capture);
        try (Connection c = connect(30)) {
            var stub = c.stub();
            for (int i = 0; i < 1000; i++) {
                assertDenied(() -> stub.fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("db").build()));
            }
        } finally {
            logger.removeHandler(capture);
        }
        assertThat(server.refusedCalls()).isEqualTo(1000);
        assertThat(lines).as("one line per uid and reason per minute, however fast the caller calls").singleElement()
                .asString().contains("FetchJWTSVID refused", "uid=" + myUid(), "no-matching-entry",
                        "at most once per 60 s");
    }

    @Test
    void theSocketIsConnectableByEveryLocalUserOnceAttestationDecides() throws Exception {
        serve(entry(VM + "/me", "unix:uid:" + myUid()));
        assertThat(Files.getPosixFilePermissions(dir.resolve("api.sock")).toString()).contains("OTHERS_WRITE");
    }

    private static void assertDenied(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).isEqualTo("no identity issued");
        });
    }
}
