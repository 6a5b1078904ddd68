package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.x509.Pem;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;

/**
 * Issue 10 section 1 over real gateway processes: alpha and beta on loopback; beta exports payments and allows
 * alpha's checkout and a VM of alpha. A VM enrols at alpha (admin API join token, the agent's enrolment client,
 * key made here): its SVID is a real one of alpha's trust domain, as is a workload's. Each dials beta's ingress
 * directly with {@code x-isthmus-caller: checkout} over HTTP/1.1 (raw TLS socket) and HTTP/2 (Netty's client, h2 by
 * ALPN): each is refused with {@code vouching-by-non-gateway} and beta's backend is never reached. The same VM
 * without the header is authorized as itself, and beta's backend sees the VM's ID. And VmIdentityPolicy, which now
 * carries the guarantee that no VM holds a gateway identity, is tried from the outside: a join token for the
 * gateway's identity is refused by the admin API.
 */
class ImpersonationE2ETest {
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/shop/sa/checkout";
    static final String INTRUDER = "spiffe://alpha.acme.internal/ns/shop/sa/intruder";
    static final String VM_ID = "spiffe://alpha.acme.internal/ns/demo/sa/vm";
    static final String ADMIN_TOKEN = "impersonation-e2e-bootstrap-admin-token-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    @Test
    void onlyAGatewayMayVouchAndAVmCallingTheIngressIsItself() throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta");
        ClusterSpec alpha = clusters.get(0);
        ClusterSpec beta = clusters.get(1);
        SampleService payments = SampleService.start(beta.host(), beta.ports().sample(), "beta", "payments");
        closeables.add(payments);
        Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2),
                this::configure, Map.of());
        closeables.add(federation);
        federation.start(Duration.ofSeconds(90));
        HttpClient admin = adminClient(federation.pki().rootCertificate());

        // VmIdentityPolicy from the outside: no join token for the gateway's own identity.
        HttpResponse<String> gatewayToken = createToken(admin, alpha, "isthmus-system", "isthmus-gateway");
        assertThat(gatewayToken.statusCode()).as(gatewayToken.body()).isEqualTo(403);
        assertThat(JSON.readTree(gatewayToken.body()).path("code").asText()).isEqualTo("not-a-vm-identity");
        assertThat(gatewayToken.body()).contains("spiffe://alpha.acme.internal/ns/isthmus-system/sa/isthmus-gateway")
                .contains("gateway's own namespace");

        // A VM enrols at alpha as demo/vm: its key is made here, alpha's gateway issues the SVID.
        HttpResponse<String> created = createToken(admin, alpha, "demo", "vm");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        GatewayClient.Issued enrolled = new GatewayClient(URI.create(alpha.apiUrl("")),
                new FederationRoots(Pem.readCertificates(federation.pki().rootCertificate())), alpha.trustDomain(),
                Clock.systemUTC()).enrol(JSON.readTree(created.body()).path("token").asText());
        assertThat(enrolled.svid().id().toString()).isEqualTo(VM_ID);
        Workload vm = Workload.holding(enrolled.svid(), federation.pki().rootCertificate());
        Workload intruder = Workload.issue(federation.pki(), INTRUDER);

        // Each dials beta's ingress directly and claims to be checkout: refused by name, over HTTP/1.1 and HTTP/2.
        for (Workload peer : List.of(intruder, vm)) {
            Workload.Response h1 = peer.call(beta.ingressAddress(), "GET /charge HTTP/1.1\r\nHost: " + PAYMENTS
                    + "\r\nx-isthmus-caller: " + CHECKOUT + "\r\nConnection: close\r\n\r\n");
            assertThat(h1.status()).as("%s", h1).isEqualTo(403);
            assertThat(h1.header("x-isthmus-reason")).contains("vouching-by-non-gateway");
            assertThat(h1.body()).contains(peer.id() + " asserted the caller '" + CHECKOUT + "'");

            Http2Answer h2 = http2(peer, beta.ingressAddress(), "/charge", "x-isthmus-caller", CHECKOUT);
            assertThat(h2.status()).as("%s", h2).isEqualTo(403);
            assertThat(h2.reason()).isEqualTo("vouching-by-non-gateway");
            assertThat(h2.body()).contains(peer.id() + " asserted the caller '" + CHECKOUT + "'");
        }
        assertThat(payments.requests()).as("no forged call reached beta's backend").isZero();

        // The VM without the header is itself: beta's policy allows it, and the backend sees the VM's ID.
        Workload.Response asItself = vm.call(beta.ingressAddress(), "GET /charge HTTP/1.1\r\nHost: " + PAYMENTS
                + "\r\nConnection: close\r\n\r\n");
        assertThat(asItself.status()).as("%s", asItself).isEqualTo(200);
        assertThat(asItself.body()).contains("\"cluster\":\"beta\"").contains("\"caller\":\"" + VM_ID + "\"");
        assertThat(payments.lastClientCert()).hasValueSatisfying(x -> assertThat(x).endsWith("URI=" + VM_ID));
        // The workload without the header is itself too: policy decides about it, and allows it nothing.
        Workload.Response intruderItself = intruder.call(beta.ingressAddress(), "GET /charge HTTP/1.1\r\nHost: "
                + PAYMENTS + "\r\nConnection: close\r\n\r\n");
        assertThat(intruderItself.status()).isEqualTo(403);
        assertThat(intruderItself.header("x-isthmus-reason")).contains("no-matching-allow");
        assertThat(payments.requests()).isEqualTo(1);
    }

    private HttpClient adminClient(Path root) throws IOException {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(Workload.trustingRoot(root)).connectTimeout(Duration.ofSeconds(3)).build();
    }

    private static HttpResponse<String> createToken(HttpClient admin, ClusterSpec at, String namespace,
            String serviceAccount) throws IOException, InterruptedException {
        String body = JSON.createObjectNode().put("namespace", namespace).put("serviceAccount", serviceAccount)
                .put("ttl", "10m").toString();
        return admin.send(HttpRequest.newBuilder(URI.create(at.apiUrl("/v1/admin/join-tokens")))
                .header("authorization", "Bearer " + ADMIN_TOKEN).header("content-type", "application/json")
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** What an HTTP/2 stream was answered: status, {@code x-isthmus-reason}, body. */
    record Http2Answer(int status, String reason, String body) {
    }

    /**
     * One HTTP/2 request (TLS with ALPN h2 only, the peer's SVID as client certificate) straight to an ingress, for
     * {@code PAYMENTS}: Netty's HTTP/2 client, because the JDK's cannot name a host that does not resolve.
     */
    private static Http2Answer http2(Workload peer, String hostPort, String path, String header, String value)
            throws Exception {
        String[] hp = hostPort.split(":");
        SslContext tls = new JdkSslContext(peer.tls(), true, null, IdentityCipherSuiteFilter.INSTANCE,
                new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2),
                ClientAuth.NONE, null, false);
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        try {
            Channel connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc(), hp[0], Integer.parseInt(hp[1])),
                                    Http2FrameCodecBuilder.forClient().build(),
                                    new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                        }
                    }).connect(hp[0], Integer.parseInt(hp[1])).sync().channel();
            SslHandler ssl = connection.pipeline().get(SslHandler.class);
            ssl.handshakeFuture().sync();
            assertThat(ssl.applicationProtocol()).isEqualTo(ApplicationProtocolNames.HTTP_2);
            CompletableFuture<Http2Answer> answer = new CompletableFuture<>();
            Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).handler(
                    new ChannelInboundHandlerAdapter() {
                        private final StringBuilder body = new StringBuilder();
                        private Http2Headers head;

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            boolean end = false;
                            if (msg instanceof Http2HeadersFrame h) {
                                head = head == null ? h.headers() : head;
                                end = h.isEndStream();
                            } else if (msg instanceof Http2DataFrame d) {
                                body.append(d.content().toString(StandardCharsets.UTF_8));
                                end = d.isEndStream();
                            }
                            ReferenceCountUtil.release(msg);
                            if (end) {
                                CharSequence reason = head.get("x-isthmus-reason");
                                answer.complete(new Http2Answer(Integer.parseInt(head.status().toString()),
                                        reason == null ? null : reason.toString(), body.toString()));
                            }
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext ctx) {
                            answer.completeExceptionally(new IOException("the stream closed before its answer"));
                        }
                    }).open().sync().getNow();
            Http2Headers request = new DefaultHttp2Headers().method("GET").scheme("https").path(path)
                    .authority(PAYMENTS);
            request.add(header, value);
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(request, true));
            return answer.get(10, TimeUnit.SECONDS);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** As {@link EastWestE2ETest#configure} (beta exports payments), plus enrolment at alpha and beta's policy. */
    private void configure(ClusterSpec c, Map<String, String> p) {
        EastWestE2ETest.configure(c, p);
        try {
            Files.createDirectories(c.dir());
            if (c.name().equals("alpha")) {
                Files.writeString(c.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
                p.put("isthmus.admin.bootstrap-token-file", c.dir().resolve("admin.token").toString());
                return;
            }
            Path policy = Files.writeString(c.dir().resolve("impersonation-policies.yaml"), """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: payments, namespace: billing}
                    spec:
                      action: ALLOW
                      selector: {services: [payments]}
                      rules:
                      - from:
                        - source: {principals: ["%s", "%s"]}
                    """.formatted(CHECKOUT, VM_ID));
            p.put("isthmus.authz.policy-file", policy.toString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
