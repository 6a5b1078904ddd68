package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
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
import io.isthmus.registry.MeshName;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;

/**
 * Observe mode and dry-run policies at b's ingress, on every listener path (HTTP/1.1, HTTP/2, a gRPC call, a CONNECT
 * tunnel; directly, as a workload with its own SVID, and through a's egress over the gateway hop). In observe mode
 * the intruder's requests are served and each is audited with the denial the policies would have made and the
 * dry-run DENY's would-be denial. The attacker's side: observe mode of other scopes and a dry-run ALLOW never open a
 * service that is enforcing, and observe mode never lifts the refusals before policy (who may vouch).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObserveModeListenersTest {
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    static final MeshName LEDGER = MeshName.of("ledger", "billing");
    static final String INTRUDER = "spiffe://a.acme.internal/ns/shop/sa/intruder";
    static final String FORGED = "x-isthmus-caller: " + Federation.CHECKOUT;
    static final String OBSERVED = Federation.CHECKOUT_ONLY + """
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: observe, namespace: billing}
            spec: {mode: OBSERVE, selector: {services: [payments, ledger]}}
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
    private static final MethodDescriptor<byte[], byte[]> WHO = GrpcBytes.method("isthmus.test.Ledger/Who",
            MethodDescriptor.MethodType.UNARY);

    private Federation fed;
    private Server grpcBackend;
    private X509Svid intruder;

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
    }

    @AfterAll
    void stop() throws Exception {
        grpcBackend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        fed.close();
    }

    @BeforeEach
    void clear() {
        fed.audited.clear();
    }

    @Test
    void observeModeServesTheIntruderOnEveryListenerAndAuditsWhatWouldHaveBeenDenied() throws Exception {
        fed.usePolicies(OBSERVED);
        assertThat(everyListener()).containsExactly("200", "200", "OK", "OK", "200");
        assertThat(fed.audited).hasSize(5).allSatisfy(e -> {
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
                .containsExactlyInAnyOrder("GET", "GET", "POST", "POST", "tcp");
    }

    @Test
    void observeModeElsewhereAndADryRunAllowNeverOpenAnEnforcingService() throws Exception {
        fed.usePolicies(ENFORCING);
        assertThat(everyListener()).containsExactly("403", "403", "PERMISSION_DENIED", "PERMISSION_DENIED", "403");
        assertThat(fed.audited).hasSize(5).allSatisfy(e -> {
            assertThat(e.getValue()).isInstanceOfSatisfying(Decision.Denied.class,
                    d -> assertThat(d.reason()).isEqualTo(DenyReason.NO_MATCHING_ALLOW));
            assertThat(e.getValue().observing()).isFalse();
            assertThat(e.getValue().dryRun()).hasValueSatisfying(d -> assertThat(d.allowed()).isTrue());
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

    /** The intruder on each listener path: HTTP/1.1, HTTP/2, gRPC direct, gRPC through a's egress, CONNECT. */
    private List<String> everyListener() throws Exception {
        return List.of(String.valueOf(http1()), String.valueOf(http2()), grpcDirect().name(),
                grpcThroughEgress().name(), String.valueOf(tunnel()));
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
