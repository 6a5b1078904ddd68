package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

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
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;

/**
 * Issue 10 section 1 at b's ingress, on every listener path: an SVID of a's trust domain that is not one of a's
 * gateway identities (a workload's, a VM's) dials the ingress directly. Asserting another caller with
 * {@code x-isthmus-caller} is refused ({@code vouching-by-non-gateway}, audited, never reaching policy's allow or
 * the backend) over HTTP/1.1, HTTP/2, a gRPC call and a CONNECT tunnel; without the header the peer is itself the
 * caller, authorized by policy as who it is, and the backend sees its own ID.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImpersonationTest {
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    static final MeshName LEDGER = MeshName.of("ledger", "billing");
    static final String VM = "spiffe://a.acme.internal/ns/demo/sa/vm";
    static final String INTRUDER = "spiffe://a.acme.internal/ns/shop/sa/intruder";
    static final String FORGED = "x-isthmus-caller: " + Federation.CHECKOUT;
    /** checkout as before, and the VM as itself; the intruder is allowed nothing. */
    static final String VM_ALLOWED = Federation.CHECKOUT_ONLY + """
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: vm, namespace: isthmus-system}
            spec:
              action: ALLOW
              rules:
              - from:
                - source: {principals: ["%s"]}
            """.formatted(VM);
    private static final MethodDescriptor<byte[], byte[]> WHO = GrpcBytes.method("isthmus.test.Ledger/Who",
            MethodDescriptor.MethodType.UNARY);
    private static final Metadata.Key<String> XFCC = Metadata.Key.of("x-forwarded-client-cert",
            Metadata.ASCII_STRING_MARSHALLER);

    private Federation fed;
    private Server grpcBackend;
    private X509Svid vm;
    private X509Svid intruder;
    private final List<String> grpcBackendSaw = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)).withMaxHeaderSize(8192));
        fed.usePolicies(VM_ALLOWED);
        vm = TestCa.svid(fed.cluster("a").ca, VM);
        intruder = TestCa.svid(fed.cluster("a").ca, INTRUDER);
        ServerServiceDefinition service = ServerServiceDefinition.builder("isthmus.test.Ledger")
                .addMethod(WHO, ServerCalls.asyncUnaryCall((request, out) -> {
                    out.onNext(grpcBackendSaw.get(grpcBackendSaw.size() - 1).getBytes(StandardCharsets.UTF_8));
                    out.onCompleted();
                })).build();
        ServerInterceptor record = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                grpcBackendSaw.add(String.valueOf(headers.get(XFCC)));
                return next.startCall(call, headers);
            }
        };
        grpcBackend = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(ServerInterceptors.intercept(service, record)).build().start();
        fed.exportGrpcFromB(LEDGER, grpcBackend.getPort());
    }

    @AfterAll
    void stop() throws Exception {
        grpcBackend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        fed.close();
    }

    @BeforeEach
    void clear() {
        fed.audited.clear();
        fed.asked.clear();
    }

    private InetSocketAddress ingressB() {
        return fed.cluster("b").ingress.address();
    }

    /** The refusal is audited as a denial naming the claimed caller and the peer that claimed it. */
    private void auditedAsImpersonation(X509Svid peer) {
        assertThat(fed.audited).singleElement().satisfies(e -> {
            assertThat(e.getKey().source().toString()).isEqualTo(Federation.CHECKOUT);
            assertThat(e.getKey().peerGateway()).contains(peer.id());
            assertThat(e.getValue()).isInstanceOfSatisfying(Decision.Denied.class,
                    d -> assertThat(d.reason()).isEqualTo(DenyReason.VOUCHING_BY_NON_GATEWAY));
        });
        assertThat(fed.asked).as("policy was never asked").isEmpty();
    }

    @Test
    void aVmOrWorkloadAssertingACallerOverHttp1IsRefused() throws Exception {
        for (X509Svid peer : List.of(vm, intruder)) {
            fed.audited.clear();
            int seen = fed.cluster("b").backendSawXfcc.size();
            try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(peer))) {
                RawHttp.Response r = http.exchange(RawHttp.get("/charge", PAYMENTS, FORGED));
                assertThat(r.status()).isEqualTo(403);
                assertThat(r.reason()).isEqualTo("vouching-by-non-gateway");
                assertThat(r.body()).contains(peer.id() + " asserted the caller '" + Federation.CHECKOUT + "'");
            }
            assertThat(fed.cluster("b").backendSawXfcc).hasSize(seen);
            auditedAsImpersonation(peer);
        }
    }

    @Test
    void aVmAssertingACallerOverHttp2IsRefused() throws Exception {
        try (H2Client h2 = H2Client.tls(ingressB(), vm, trust())) {
            H2Client.Response r = h2.get("/charge", PAYMENTS, FORGED);
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("vouching-by-non-gateway");
            // The same VM, same connection, without the header: itself, allowed.
            H2Client.Response ok = h2.get("/charge", PAYMENTS);
            assertThat(ok.status()).isEqualTo(200);
            assertThat(ok.body()).contains("URI=" + VM + "\n").contains("caller-header=null");
        }
    }

    @Test
    void aVmAssertingACallerInAGrpcCallIsRefused() throws Exception {
        Metadata forged = new Metadata();
        forged.put(Metadata.Key.of("x-isthmus-caller", Metadata.ASCII_STRING_MARSHALLER), Federation.CHECKOUT);
        ManagedChannel channel = grpcToIngress(vm, forged);
        try {
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, WHO,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).contains("x-isthmus-reason=vouching-by-non-gateway");
                    });
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(grpcBackendSaw).noneMatch(x -> x.contains(Federation.CHECKOUT));
        auditedAsImpersonation(vm);
    }

    @Test
    void aVmCallingGrpcAsItselfIsAuthorizedAsItself() throws Exception {
        ManagedChannel channel = grpcToIngress(vm, new Metadata());
        try {
            byte[] answer = ClientCalls.blockingUnaryCall(channel, WHO,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]);
            assertThat(new String(answer, StandardCharsets.UTF_8))
                    .isEqualTo("By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI=" + VM);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(fed.asked).singleElement().satisfies(a -> {
            assertThat(a.source().toString()).isEqualTo(VM);
            assertThat(a.peerGateway()).as("nobody vouched").isEmpty();
        });
    }

    @Test
    void aVmAssertingACallerOnATunnelIsRefusedAndTheConnectionClosed() throws Exception {
        String connect = "CONNECT " + PAYMENTS + ":80 HTTP/1.1\r\nHost: " + PAYMENTS + ":80\r\n";
        try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(vm))) {
            RawHttp.Response r = http.exchange(connect + FORGED + "\r\n\r\n");
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("vouching-by-non-gateway");
            assertThat(http.closedWithoutResponse()).isTrue();
        }
        auditedAsImpersonation(vm);
        // Without the header the VM's tunnel opens, authorized as the VM.
        try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(vm))) {
            assertThat(http.exchange(connect + "\r\n").status()).isEqualTo(200);
            RawHttp.Response inner = http.exchange(RawHttp.get("/tunnelled", "backend"));
            assertThat(inner.body()).contains("cluster=b").contains("path=/tunnelled");
        }
        assertThat(fed.asked).singleElement().satisfies(a -> {
            assertThat(a.source().toString()).isEqualTo(VM);
            assertThat(a.method()).isEmpty();
        });
    }

    @Test
    void withoutTheHeaderEachPeerIsItselfToPolicyAndBackend() throws Exception {
        try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(vm))) {
            RawHttp.Response ok = http.exchange(RawHttp.get("/charge", PAYMENTS));
            assertThat(ok.status()).isEqualTo(200);
            assertThat(ok.body()).contains("xfcc=By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI="
                    + VM + "\n");
        }
        try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(intruder))) {
            RawHttp.Response denied = http.exchange(RawHttp.get("/charge", PAYMENTS));
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.reason()).as("policy decided about the intruder itself").isEqualTo("no-matching-allow");
        }
        assertThat(fed.asked).extracting(a -> a.source().toString()).containsExactly(VM, INTRUDER);
        assertThat(fed.asked).allSatisfy(a -> assertThat(a.peerGateway()).isEmpty());
        // a's real gateway still vouches.
        Federation.Cluster a = fed.cluster("a");
        try (RawHttp http = RawHttp.tls(ingressB(), a.clientContext(a.gateway))) {
            assertThat(http.exchange(RawHttp.get("/charge", PAYMENTS, FORGED)).body())
                    .contains("URI=" + Federation.CHECKOUT + "\n");
        }
    }

    private SpiffeTrustManager trust() {
        return new SpiffeTrustManager(fed.cluster("a").verifier(), PeerPolicy.anyFederated());
    }

    private ManagedChannel grpcToIngress(X509Svid peer, Metadata extra) throws Exception {
        var tls = GrpcSslContexts.forClient()
                .keyManager(peer.key(), peer.chain().toArray(java.security.cert.X509Certificate[]::new))
                .trustManager(trust()).build();
        return NettyChannelBuilder.forAddress(ingressB().getHostString(), ingressB().getPort())
                .overrideAuthority(LEDGER.host() + ":9090").sslContext(tls)
                .intercept(MetadataUtils.newAttachHeadersInterceptor(extra)).build();
    }
}
