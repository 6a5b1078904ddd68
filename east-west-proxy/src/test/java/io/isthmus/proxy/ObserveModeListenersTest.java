package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.ServerServiceDefinition;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.proxy.authz.audit.JsonDecisionLog;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.l4.TcpListenerSpec;
import io.isthmus.proxy.l4.TcpListeners;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;

/**
 * Observe mode and dry-run policies at b's ingress, on every listener path (HTTP/1.1, HTTP/2, a gRPC call, a CONNECT
 * tunnel; directly, as a workload with its own SVID, and through a's egress over the gateway hop; a's egress TCP
 * listener, a TCP route by SNI to b's ingress). In observe mode
 * the intruder's requests are served and each is audited with the denial the policies would have made and the
 * dry-run DENY's would-be denial. The attacker's side: observe mode of other scopes and a dry-run ALLOW never open a
 * service that is enforcing, and observe mode never lifts the refusals before policy (who may vouch).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObserveModeListenersTest {
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    static final MeshName LEDGER = MeshName.of("ledger", "billing");
    static final MeshName DB = MeshName.of("db", "billing");
    static final String INTRUDER = "spiffe://a.acme.internal/ns/shop/sa/intruder";
    static final String FORGED = "x-isthmus-caller: " + Federation.CHECKOUT;
    static final String OBSERVED = Federation.CHECKOUT_ONLY + """
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: observe, namespace: billing}
            spec: {mode: OBSERVE, selector: {services: [payments, ledger, db]}}
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: no-intruder, namespace: billing, annotations: {security.isthmus.io/dry-run: "true"}}
            spec:
              action: DENY
              rules:
              - from: [{source: {principals: ["%s"]}}]
            """.formatted(INTRUDER);
    /** Observe mode for other scopes, and a dry-run ALLOW naming the intruder: payments and ledger still enforce. */
    static final String ENFORCING = Federation.CHECKOUT_ONLY + """
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: observe-other, namespace: billing}
            spec: {mode: OBSERVE, selector: {services: [invoices]}}
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: observe, namespace: shop}
            spec: {mode: OBSERVE}
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: allow-intruder, namespace: billing, annotations: {security.isthmus.io/dry-run: "true"}}
            spec:
              rules:
              - from: [{source: {principals: ["%s"]}}]
            """.formatted(INTRUDER);
    /** billing observes itself, the mesh's owner denies the intruder everywhere (a DENY of the root namespace). */
    static final String OBSERVED_UNDER_A_MESH_DENY = OBSERVED + """
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: no-intruder, namespace: isthmus-system}
            spec:
              action: DENY
              rules:
              - from: [{source: {principals: ["%s"]}}]
            """.formatted(INTRUDER);
    private static final MethodDescriptor<byte[], byte[]> WHO = GrpcBytes.method("isthmus.test.Ledger/Who",
            MethodDescriptor.MethodType.UNARY);

    private Federation fed;
    private Server grpcBackend;
    private X509Svid intruder;
    private TcpBackend db;
    private TcpListeners listeners;
    /** a's egress TCP listener for billing's db, whose plaintext clients are the intruder. */
    private InetSocketAddress dbListener;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)));
        intruder = TestCa.svid(fed.cluster("a").ca, INTRUDER);
        ServerServiceDefinition service = ServerServiceDefinition.builder("isthmus.test.Ledger")
                .addMethod(WHO, ServerCalls.asyncUnaryCall((request, out) -> {
                    out.onNext("ledger".getBytes(StandardCharsets.UTF_8));
                    out.onCompleted();
                })).build();
        grpcBackend = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(service).build().start();
        fed.exportGrpcFromB(LEDGER, grpcBackend.getPort());
        Federation.Cluster a = fed.cluster("a");
        db = TcpBackend.plain("db");
        fed.extraBackends.put(DB.host(), db.address());
        fed.export(fed.cluster("b"), DB, new ServicePort("postgres", 5432, Protocol.TCP));
        listeners = new TcpListeners(a.transport, fed.settings, a.tls, fed.resolver(), a.locality,
                new ProxyMetrics(a.meters), a.telemetry, a.egress.outliers());
        dbListener = listeners.start(List.of(TcpListenerSpec.parse("db-intruder", DB.host(), 5432, "127.0.0.1:0",
                Optional.of(INTRUDER), DB.suffix(), a.td, GatewayIdentities.conventional(List.of(a.td))))).get(0)
                .address();
    }

    @AfterAll
    void stop() throws Exception {
        grpcBackend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        listeners.close();
        fed.close();
        db.close();
    }

    @BeforeEach
    void clear() {
        fed.audited.clear();
    }

    @Test
    void observeModeServesTheIntruderOnEveryListenerAndAuditsWhatWouldHaveBeenDenied() throws Exception {
        fed.usePolicies(OBSERVED);
        assertThat(everyListener()).containsExactly("200", "200", "OK", "OK", "200", "open");
        assertThat(fed.audited).hasSize(6).allSatisfy(e -> {
            assertThat(e.getKey().source().toString()).isEqualTo(INTRUDER);
            Decision d = e.getValue();
            assertThat(d).isInstanceOfSatisfying(Decision.Allowed.class,
                    a -> assertThat(a.policy()).isEqualTo("billing/observe"));
            assertThat(d.observed()).hasValueSatisfying(o -> assertThat(o).isInstanceOfSatisfying(
                    Decision.Denied.class, x -> assertThat(x.reason()).isEqualTo(DenyReason.NO_MATCHING_ALLOW)));
            assertThat(d.dryRun()).hasValueSatisfying(o -> assertThat(o.policy()).isEqualTo("billing/no-intruder"));
            assertThat(JsonDecisionLog.toJson(java.time.Instant.EPOCH, e.getKey(), d)).contains("\"mode\":\"observe\"",
                    "\"observed\":{\"decision\":\"deny\",\"reason\":\"no-matching-allow\"",
                    "\"dry_run\":{\"decision\":\"deny\",\"reason\":\"explicit-deny\",\"policy\":\"billing/no-intruder\"");
        });
        assertThat(fed.audited).extracting(e -> e.getKey().method().orElse("tcp"))
                .containsExactlyInAnyOrder("GET", "GET", "POST", "POST", "tcp", "tcp");
    }

    @Test
    void observeModeElsewhereAndADryRunAllowNeverOpenAnEnforcingService() throws Exception {
        fed.usePolicies(ENFORCING);
        assertThat(everyListener()).containsExactly("403", "403", "PERMISSION_DENIED", "PERMISSION_DENIED", "403",
                "closed");
        assertThat(fed.audited).hasSize(6).allSatisfy(e -> {
            assertThat(e.getValue()).isInstanceOfSatisfying(Decision.Denied.class,
                    d -> assertThat(d.reason()).isEqualTo(DenyReason.NO_MATCHING_ALLOW));
            assertThat(e.getValue().observing()).isFalse();
            assertThat(e.getValue().dryRun()).hasValueSatisfying(d -> assertThat(d.allowed()).isTrue());
        });
    }

    @Test
    void aNamespacesObserveModeNeverLiftsTheMeshsDenyPolicies() throws Exception {
        fed.usePolicies(OBSERVED_UNDER_A_MESH_DENY);
        assertThat(everyListener()).containsExactly("403", "403", "PERMISSION_DENIED", "PERMISSION_DENIED", "403",
                "closed");
        assertThat(fed.audited).hasSize(6).allSatisfy(e -> {
            assertThat(e.getValue()).isInstanceOfSatisfying(Decision.Denied.class, d -> {
                assertThat(d.reason()).isEqualTo(DenyReason.EXPLICIT_DENY);
                assertThat(d.policy()).isEqualTo("isthmus-system/no-intruder");
            });
            assertThat(e.getValue().observing()).isFalse();
        });
    }

    @Test
    void observeModeNeverLiftsTheRefusalOfAVouchingNonGateway() throws Exception {
        fed.usePolicies(OBSERVED);
        try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(intruder))) {
            RawHttp.Response r = http.exchange(RawHttp.get("/charge", PAYMENTS, FORGED));
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("vouching-by-non-gateway");
        }
        try (H2Client h2 = H2Client.tls(ingressB(), intruder, trust())) {
            H2Client.Response r = h2.get("/charge", PAYMENTS, FORGED);
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("vouching-by-non-gateway");
        }
        assertThat(fed.audited).hasSize(2).allSatisfy(e -> {
            assertThat(e.getValue().observing()).isFalse();
            assertThat(e.getValue()).isInstanceOfSatisfying(Decision.Denied.class,
                    d -> assertThat(d.reason()).isEqualTo(DenyReason.VOUCHING_BY_NON_GATEWAY));
        });
    }

    private InetSocketAddress ingressB() {
        return fed.cluster("b").ingress.address();
    }

    /**
     * The intruder on each listener path: HTTP/1.1, HTTP/2, gRPC direct, gRPC through a's egress, CONNECT, and a's
     * egress TCP listener (a TCP route by SNI to b's ingress).
     */
    private List<String> everyListener() throws Exception {
        return List.of(String.valueOf(http1()), String.valueOf(http2()), grpcDirect().name(),
                grpcThroughEgress().name(), String.valueOf(tunnel()), tcpListener());
    }

    /** "open" when the db's greeting and echo come through, "closed" when the connection ends without a byte. */
    private String tcpListener() throws Exception {
        try (Socket s = new Socket(dbListener.getAddress(), dbListener.getPort())) {
            s.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String greeting = in.readLine();
            if (greeting == null) {
                return "closed";
            }
            assertThat(greeting).isEqualTo("db hello anonymous");
            s.getOutputStream().write("select 1\n".getBytes(StandardCharsets.UTF_8));
            assertThat(in.readLine()).isEqualTo("db echo select 1");
            return "open";
        }
    }

    private int http1() throws Exception {
        try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(intruder))) {
            return http.exchange(RawHttp.get("/charge", PAYMENTS)).status();
        }
    }

    private int http2() throws Exception {
        try (H2Client h2 = H2Client.tls(ingressB(), intruder, trust())) {
            return h2.get("/charge", PAYMENTS).status();
        }
    }

    private int tunnel() throws Exception {
        String connect = "CONNECT " + PAYMENTS + ":80 HTTP/1.1\r\nHost: " + PAYMENTS + ":80\r\n\r\n";
        try (RawHttp http = RawHttp.tls(ingressB(), fed.cluster("a").clientContext(intruder))) {
            int status = http.exchange(connect).status();
            if (status == 200) {
                assertThat(http.exchange(RawHttp.get("/tunnelled", "backend")).body()).contains("cluster=b");
            }
            return status;
        }
    }

    private Status.Code grpcDirect() throws Exception {
        var tls = GrpcSslContexts.forClient().keyManager(intruder.key(), intruder.chain()
                .toArray(X509Certificate[]::new)).trustManager(trust()).build();
        return call(NettyChannelBuilder.forAddress(ingressB().getHostString(), ingressB().getPort())
                .overrideAuthority(LEDGER.host() + ":9090").sslContext(tls).build());
    }

    private Status.Code grpcThroughEgress() throws Exception {
        return call(fed.grpcChannel(INTRUDER, LEDGER, 4 * 1024 * 1024));
    }

    private static Status.Code call(ManagedChannel channel) throws InterruptedException {
        try {
            ClientCalls.blockingUnaryCall(channel, WHO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                    new byte[0]);
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private SpiffeTrustManager trust() {
        return new SpiffeTrustManager(fed.cluster("a").verifier(), PeerPolicy.anyFederated());
    }
}
