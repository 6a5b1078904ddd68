package io.isthmus.agent.workload;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.isthmus.agent.jwt.JwtSvidCache;
import io.isthmus.agent.attest.WorkloadAttestation;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;

/**
 * The SPIFFE Workload API (X.509 and JWT profiles) on a unix domain socket, served by plain grpc-java on Netty's epoll
 * transport. Unmodified SPIFFE clients (go-spiffe, java-spiffe, Envoy via SDS adapters) connect with
 * {@code unix:<socket>}. Linux only.
 */
public final class WorkloadApiServer implements AutoCloseable {
    /**
     * grpc-java sets SO_KEEPALIVE on every accepted channel; a unix socket has no such option, and Netty warns about
     * it on each connection (one WARNING per Workload API client). Nothing is wrong, so that logger says only SEVERE.
     * Held here: the JDK keeps loggers weakly.
     */
    private static final java.util.logging.Logger BOOTSTRAP_LOG = quiet(
            "io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap");

    private final Server server;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final WorkloadApiService service;
    private final AttestationInterceptor attestation;
    private final Path socket;

    private WorkloadApiServer(Server server, EventLoopGroup boss, EventLoopGroup workers, WorkloadApiService service,
            AttestationInterceptor attestation, Path socket) {
        this.server = server;
        this.attestation = attestation;
        this.boss = boss;
        this.workers = workers;
        this.service = service;
        this.socket = socket;
    }

    /** Binds {@code socket} (a stale socket file from a previous run is replaced) and starts serving. */
    public static WorkloadApiServer start(Path socket, Supplier<AgentState> current) throws IOException {
        return start(socket, current, WorkloadAttestation.off(), id -> Optional.empty(), null);
    }

    /**
     * As {@link #start(Path, Supplier)}, attesting every caller: each call is answered with the SVIDs of the
     * registration entries its caller matches ({@code workloadSvids} holds those under the VM's ID), or
     * PERMISSION_DENIED. With attestation on, the socket is made connectable by every local user (0777, as SPIRE's
     * agent does): attestation, not the file mode, decides who gets what. With it off, the file mode stays the
     * only gate, as before. FetchJWTSVID is served from {@code jwtSvids} (null: UNAVAILABLE).
     */
    public static WorkloadApiServer start(Path socket, Supplier<AgentState> current, WorkloadAttestation attestation,
            Function<SpiffeId, Optional<X509Svid>> workloadSvids, JwtSvidCache jwtSvids) throws IOException {
        Path parent = socket.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.deleteIfExists(socket);
        EventLoopGroup boss = new EpollEventLoopGroup(1);
        EventLoopGroup workers = new EpollEventLoopGroup(1);
        WorkloadApiService service = new WorkloadApiService(current, workloadSvids, jwtSvids, attestation::entries);
        if (attestation.enabled()) {
            attestation.onReplaced(service::entriesChanged);
        }
        AttestationInterceptor attesting = new AttestationInterceptor(attestation, () -> current.get().svid().id());
        // Interceptors run last-added first: the security header is checked before the caller is attested.
        Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class).bossEventLoopGroup(boss).workerEventLoopGroup(workers)
                .protocolNegotiator(new PeerCredentialsNegotiator())
                .addService(ServerInterceptors.intercept(service, attesting, new SecurityHeaderInterceptor()))
                .build();
        try {
            server.start();
        } catch (IOException e) {
            boss.shutdownGracefully();
            workers.shutdownGracefully();
            throw new IOException("cannot serve the Workload API on " + socket + ": " + e.getMessage(), e);
        }
        if (attestation.enabled()) {
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        return new WorkloadApiServer(server, boss, workers, service, attesting, socket);
    }

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
        logger.setLevel(java.util.logging.Level.SEVERE);
        return logger;
    }

    /** Pushes {@code state} to every open FetchX509SVID, FetchX509Bundles and FetchJWTBundles stream. */
    public void publish(AgentState state) {
        service.publish(state);
    }

    /** Calls refused by attestation since the start (their log lines are throttled; this counts every one). */
    public long refusedCalls() {
        return attestation.refused();
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() {
        service.closeStreams();
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // Left behind: the next start replaces it.
        }
    }
}
