package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.svid.X509Svid;

/**
 * Unary gRPC end to end: a grpc-java client in a, authenticated by its SVID over TLS (h2 by ALPN), calls
 * {@code ledger.billing.svc.clusterset.local} through a's egress; a's gateway sends it to b's ingress over a
 * multiplexed h2 mTLS connection, b's ingress calls the grpc-java backend over h2c. The backend sees the
 * verified caller; a caller the policy denies gets HTTP 403, which the gRPC client reports as PERMISSION_DENIED.
 */
class GrpcEndToEndTest {
    private static final MeshName LEDGER = MeshName.of("ledger", "billing");
    private static final String AUTHORITY = "ledger.billing.svc.clusterset.local";

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = GrpcBytes.MARSHALLER;
    private static final MethodDescriptor<byte[], byte[]> CHARGE = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("isthmus.test.Ledger/Charge")
            .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    private static final MethodDescriptor<byte[], byte[]> FAIL = CHARGE.toBuilder()
            .setFullMethodName("isthmus.test.Ledger/Fail").build();

    private static final Metadata.Key<String> XFCC = Metadata.Key.of("x-forwarded-client-cert",
            Metadata.ASCII_STRING_MARSHALLER);

    private Federation fed;
    private Server backend;
    private final List<String> backendSawXfcc = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(5),
                Duration.ofSeconds(1)).withMaxHeaderSize(8192));
        ServerServiceDefinition service = ServerServiceDefinition.builder("isthmus.test.Ledger")
                .addMethod(CHARGE, ServerCalls.asyncUnaryCall((request, observer) -> {
                    observer.onNext(("charged " + new String(request, StandardCharsets.UTF_8))
                            .getBytes(StandardCharsets.UTF_8));
                    observer.onCompleted();
                }))
                .addMethod(FAIL, ServerCalls.asyncUnaryCall((request, observer) -> observer.onError(
                        Status.FAILED_PRECONDITION.withDescription("insufficient funds").asRuntimeException())))
                .build();
        ServerInterceptor recordXfcc = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                backendSawXfcc.add(String.valueOf(headers.get(XFCC)));
                return next.startCall(call, headers);
            }
        };
        backend = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(ServerInterceptors.intercept(service, recordXfcc)).build().start();
        fed.exportGrpcFromB(LEDGER, backend.getPort());
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (backend != null) {
            backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        fed.close();
    }

    private ManagedChannel channel(String caller) throws Exception {
        return fed.grpcChannel(caller, LEDGER, 4 * 1024 * 1024);
    }

    @Test
    void unaryCallReachesTheGrpcBackendInBWithTheVerifiedCaller() throws Exception {
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            byte[] answer = ClientCalls.blockingUnaryCall(channel, CHARGE,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                    "5 EUR".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(answer, StandardCharsets.UTF_8)).isEqualTo("charged 5 EUR");
            assertThat(backendSawXfcc).containsExactly(
                    "By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI=" + Federation.CHECKOUT);
            // A gRPC error status travels back in the trailers across both hops.
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, FAIL,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).isEqualTo("insufficient funds");
                    });
            // Several calls on the one h2 connection.
            for (int i = 0; i < 5; i++) {
                assertThat(new String(ClientCalls.blockingUnaryCall(channel, CHARGE,
                        io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                        ("#" + i).getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)).isEqualTo("charged #" + i);
            }
            // The gateway hop was HTTP/2 too: all 7 calls shared one multiplexed mTLS connection from a to b.
            assertThat(fed.cluster("a").egress.openH2PeerConnections()).isEqualTo(1);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(fed.asked).anySatisfy(a -> {
            assertThat(a.destination().host()).isEqualTo(AUTHORITY);
            assertThat(a.method()).contains("POST");
            assertThat(a.path()).contains("/isthmus.test.Ledger/Charge");
        });
    }

    @Test
    void deniedCallerSeesPermissionDenied() throws Exception {
        ManagedChannel channel = channel(Federation.CART);
        try {
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, CHARGE,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[1]))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        // The ingress answers HTTP 403 (reason in x-isthmus-reason); grpc-java maps it.
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).contains("HTTP status code 403")
                                .contains("x-isthmus-reason=no-matching-allow");
                    });
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(backendSawXfcc).isEmpty();
    }

    @Test
    void plaintextH2cCallerWithBearerToken() throws Exception {
        InetSocketAddress egress = fed.cluster("a").egress.address();
        Metadata token = new Metadata();
        token.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer checkout");
        ManagedChannel channel = NettyChannelBuilder.forAddress(egress.getHostString(), egress.getPort())
                .overrideAuthority(AUTHORITY).usePlaintext()
                .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(token)).build();
        try {
            byte[] answer = ClientCalls.blockingUnaryCall(channel, CHARGE,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                    "h2c".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(answer, StandardCharsets.UTF_8)).isEqualTo("charged h2c");
            assertThat(backendSawXfcc).singleElement().asString().endsWith("URI=" + Federation.CHECKOUT);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
