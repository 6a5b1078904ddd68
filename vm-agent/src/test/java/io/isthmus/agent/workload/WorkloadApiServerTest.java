package io.isthmus.agent.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.spiffe.workloadapi.DefaultX509Source;
import io.spiffe.workloadapi.X509Source;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;

/** An unmodified SPIFFE client (java-spiffe) fetches the SVID from the agent's socket and follows its rotation. */
class WorkloadApiServerTest {
    private static final TrustDomain TD = new TrustDomain("vm.test");
    private static final TrustDomain PEER = new TrustDomain("peer.test");

    private Path socket;
    private CaCredential ca;
    private AgentState first;
    private final AtomicReference<AgentState> current = new AtomicReference<>();
    private WorkloadApiServer server;

    @BeforeEach
    void start() throws Exception {
        TestCa testCa = TestCa.create();
        ca = testCa.intermediate(TD.name());
        CaCredential peerCa = testCa.intermediate(PEER.name());
        BundleSet bundles = BundleSet.of(List.of(
                new TrustBundle(TD, List.of(ca.certificate()), List.of(), 1, java.util.Optional.empty()),
                new TrustBundle(PEER, List.of(peerCa.certificate()), List.of(), 7, java.util.Optional.empty())));
        first = new AgentState(URI.create("https://127.0.0.1:1"), TD, TestCa.svid(ca, "spiffe://vm.test/ns/shop/sa/vm"),
                bundles);
        current.set(first);
        socket = Files.createTempDirectory("isthmus-wl").resolve("api.sock");
        server = WorkloadApiServer.start(socket, current::get);
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        Files.deleteIfExists(socket);
        Files.deleteIfExists(socket.getParent());
    }

    @Test
    void javaSpiffeClientGetsTheSvidAndItsRotation() throws Exception {
        X509Source source = DefaultX509Source.newSource(DefaultX509Source.X509SourceOptions.builder()
                .spiffeSocketPath("unix:" + socket).initTimeout(Duration.ofSeconds(10)).build());
        try {
            io.spiffe.svid.x509svid.X509Svid got = source.getX509Svid();
            assertThat(got.getSpiffeId().toString()).isEqualTo("spiffe://vm.test/ns/shop/sa/vm");
            assertThat(got.getLeaf()).isEqualTo(first.svid().leaf());
            assertThat(source.getBundleForTrustDomain(io.spiffe.spiffeid.TrustDomain.parse("peer.test"))
                    .getX509Authorities()).hasSize(1);

            X509Svid rotated = TestCa.svid(ca, "spiffe://vm.test/ns/shop/sa/vm");
            AgentState next = first.withSvid(rotated, first.bundles());
            current.set(next);
            server.publish(next);
            await().atMost(Duration.ofSeconds(10)).until(() -> source.getX509Svid().getLeaf().equals(rotated.leaf()));
            assertThat(source.getX509Svid().getPrivateKey().getEncoded()).isEqualTo(rotated.key().getEncoded());
        } finally {
            source.close();
        }
    }

    @Test
    void refusesCallsWithoutTheSecurityHeader() throws Exception {
        EventLoopGroup group = new EpollEventLoopGroup(1);
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
        try {
            var stub = SpiffeWorkloadAPIGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
            assertThatThrownBy(() -> stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next())
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).isEqualTo("security header missing from request");
                    });
        } finally {
            channel.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
