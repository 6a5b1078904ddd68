package io.isthmus.agent.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;

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
import io.isthmus.agent.jwt.JwtSvidCache;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.jwt.JwtSvidSigner;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.workloadapi.DefaultJwtSource;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.JwtSource;
import io.spiffe.workloadapi.JwtSourceOptions;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;

/**
 * The JWT profile of the agent's Workload API, through unmodified java-spiffe clients on the unix socket and a raw
 * gRPC stub: FetchJWTSVID (cached per audience set), FetchJWTBundles (pushed again on change), ValidateJWTSVID
 * (every bad token refused with INVALID_ARGUMENT naming the reason). The gateway's signing endpoint is replaced by
 * a fake that signs with the trust domain's key and counts calls (the real endpoint: JwtSvidApiTest, and across
 * clusters JwtSvidFederationE2ETest); nimbus-jose-jwt checks tokens and JWKS independently.
 */
class WorkloadApiJwtTest {
    private static final TrustDomain TD = new TrustDomain("vm.test");
    private static final TrustDomain PEER = new TrustDomain("peer.test");
    private static final String AGENT = "spiffe://vm.test/ns/shop/sa/vm";
    private static final JwtSigningKey TD_KEY = JwtSigningKey.generate();
    private static final JwtSigningKey PEER_KEY = JwtSigningKey.generate();

    private static Path socket;
    private static AgentState first;
    private static final AtomicReference<AgentState> current = new AtomicReference<>();
    private static final AtomicInteger gatewayCalls = new AtomicInteger();
    private static WorkloadApiServer server;
    private static EventLoopGroup group;
    private static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        TestCa testCa = TestCa.create();
        CaCredential ca = testCa.intermediate(TD.name());
        CaCredential peerCa = testCa.intermediate(PEER.name());
        BundleSet bundles = BundleSet.of(List.of(
                new TrustBundle(TD, List.of(ca.certificate()), List.of(TD_KEY.authority()), 1, Optional.empty()),
                new TrustBundle(PEER, List.of(peerCa.certificate()), List.of(PEER_KEY.authority()), 7, Optional.empty())));
        first = new AgentState(URI.create("https://127.0.0.1:1"), TD, TestCa.svid(ca, AGENT), bundles);
        current.set(first);
        JwtSvidCache cache = new JwtSvidCache((subject, audience) -> {
            gatewayCalls.incrementAndGet();
            return JwtSvidSigner.sign(TD_KEY, subject, audience, Instant.now(), Duration.ofMinutes(5)).token();
        }, td -> current.get().bundles().bundleFor(td), Clock.systemUTC());
        socket = Files.createTempDirectory("isthmus-jwt").resolve("api.sock");
        server = WorkloadApiServer.start(socket, current::get, io.isthmus.agent.attest.WorkloadAttestation.off(),
                id -> Optional.empty(), cache);
        group = new EpollEventLoopGroup(1);
        Metadata header = new Metadata();
        header.put(Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER), "true");
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext()
                .intercept(MetadataUtils.newAttachHeadersInterceptor(header)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        server.close();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(socket.getParent());
    }

    private static SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub() {
        return SpiffeWorkloadAPIGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @Test
    void javaSpiffeJwtSourceFetchesAndValidatesAndFollowsBundleChanges() throws Exception {
        JwtSource source = DefaultJwtSource.newSource(JwtSourceOptions.builder().spiffeSocketPath("unix:" + socket)
                .initTimeout(Duration.ofSeconds(10)).build());
        try {
            JwtSvid svid = source.fetchJwtSvid("orders", "billing");
            assertThat(svid.getSpiffeId().toString()).isEqualTo(AGENT);
            assertThat(svid.getAudience()).containsExactlyInAnyOrder("orders", "billing");
            // java-spiffe validates the token against the bundles it streamed from the agent.
            JwtSvid checked = JwtSvid.parseAndValidate(svid.getToken(), source, Set.of("billing"));
            assertThat(checked.getSpiffeId().toString()).isEqualTo(AGENT);
            assertThat(source.getBundleForTrustDomain(io.spiffe.spiffeid.TrustDomain.parse("peer.test"))
                    .hasJwtAuthority(PEER_KEY.keyId())).isTrue();

            // The peer rotates its JWT key: the new key is pushed to the open stream.
            JwtSigningKey next = JwtSigningKey.generate();
            TrustBundle peer = first.bundles().bundleFor(PEER).orElseThrow();
            AgentState rotated = first.withBundles(first.bundles().with(peer.withJwtAuthorities(
                    List.of(PEER_KEY.authority(), next.authority()), 8)));
            current.set(rotated);
            server.publish(rotated);
            await().atMost(Duration.ofSeconds(10)).until(() -> source.getBundleForTrustDomain(
                    io.spiffe.spiffeid.TrustDomain.parse("peer.test")).hasJwtAuthority(next.keyId()));
        } finally {
            source.close();
            current.set(first);
        }
    }

    @Test
    void servedBundlesAndTokensVerifyWithNimbus() throws Exception {
        Workload.JWTBundlesResponse bundles = stub().fetchJWTBundles(Workload.JWTBundlesRequest.getDefaultInstance()).next();
        assertThat(bundles.getBundlesMap()).containsOnlyKeys("spiffe://vm.test", "spiffe://peer.test");
        JWKSet jwks = JWKSet.parse(bundles.getBundlesMap().get("spiffe://vm.test").toString(StandardCharsets.UTF_8));
        assertThat(jwks.getKeys()).hasSize(1);
        assertThat(jwks.getKeys().get(0).getKeyID()).isEqualTo(TD_KEY.keyId());
        assertThat(jwks.getKeys().get(0).isPrivate()).isFalse();

        Workload.JWTSVIDResponse r = stub().fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("orders").build());
        assertThat(r.getSvidsList()).hasSize(1);
        SignedJWT jwt = SignedJWT.parse(r.getSvids(0).getSvid());
        assertThat(jwt.verify(new ECDSAVerifier(jwks.getKeyByKeyId(jwt.getHeader().getKeyID()).toECKey()))).isTrue();
        assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo(AGENT);
    }

    @Test
    void cachesPerAudienceSetAndRefusesBadRequests() {
        int before = gatewayCalls.get();
        String a = stub().fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("x").addAudience("y").build())
                .getSvids(0).getSvid();
        String b = stub().fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("y").addAudience("x")
                .setSpiffeId(AGENT).build()).getSvids(0).getSvid();
        assertThat(b).isEqualTo(a);
        assertThat(gatewayCalls.get() - before).isEqualTo(1);
        stub().fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("z").build());
        assertThat(gatewayCalls.get() - before).isEqualTo(2);

        assertStatus(() -> stub().fetchJWTSVID(Workload.JWTSVIDRequest.getDefaultInstance()), Status.Code.INVALID_ARGUMENT,
                "audience must be specified");
        assertStatus(() -> stub().fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("x")
                .setSpiffeId("spiffe://vm.test/ns/shop/sa/other").build()), Status.Code.PERMISSION_DENIED,
                "no identity issued for spiffe://vm.test/ns/shop/sa/other");
        assertStatus(() -> stub().fetchJWTSVID(Workload.JWTSVIDRequest.newBuilder().addAudience("x")
                .setSpiffeId("not an id").build()), Status.Code.INVALID_ARGUMENT, "is not a SPIFFE ID");
        assertStatus(() -> stub().validateJWTSVID(Workload.ValidateJWTSVIDRequest.newBuilder().setSvid("a.b.c").build()),
                Status.Code.INVALID_ARGUMENT, "audience must be specified");
        assertStatus(() -> stub().validateJWTSVID(Workload.ValidateJWTSVIDRequest.newBuilder().setAudience("x").build()),
                Status.Code.INVALID_ARGUMENT, "svid must be specified");
    }

    private static void assertStatus(Runnable call, Status.Code code, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
    }

    private static String nimbus(JwtSigningKey key, String alg, String kid, String claims) throws Exception {
        JWSObject jws = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.parse(alg)).keyID(kid).build(),
                new Payload(claims));
        jws.sign(new ECDSASigner((java.security.interfaces.ECPrivateKey) key.keys().getPrivate()));
        return jws.serialize();
    }

    private static String claims(String sub, String aud, long exp) {
        return "{\"sub\":\"" + sub + "\",\"aud\":[\"" + aud + "\"],\"exp\":" + exp + "}";
    }

    static Stream<Arguments> tokens() throws Exception {
        long exp = Instant.now().plusSeconds(300).getEpochSecond();
        String good = nimbus(TD_KEY, "ES256", TD_KEY.keyId(), claims(AGENT, "orders", exp));
        String[] p = good.split("\\.");
        String b64 = Base64.getUrlEncoder().withoutPadding().encodeToString(
                ("{\"alg\":\"none\",\"kid\":\"" + TD_KEY.keyId() + "\"}").getBytes(StandardCharsets.UTF_8));
        List<Arguments> rows = new ArrayList<>();
        rows.add(Arguments.of("good", good, null));
        rows.add(Arguments.of("peer's subject signed by the peer's key", nimbus(PEER_KEY, "ES256", PEER_KEY.keyId(),
                claims("spiffe://peer.test/ns/a/sa/b", "orders", exp)), null));
        rows.add(Arguments.of("wrong audience", nimbus(TD_KEY, "ES256", TD_KEY.keyId(), claims(AGENT, "billing", exp)),
                "audience-mismatch"));
        rows.add(Arguments.of("expired", nimbus(TD_KEY, "ES256", TD_KEY.keyId(), claims(AGENT, "orders",
                Instant.now().minusSeconds(1).getEpochSecond())), "expired"));
        rows.add(Arguments.of("alg none", b64 + "." + p[1] + ".", "unsupported-algorithm"));
        rows.add(Arguments.of("peer's key claiming a local subject", nimbus(PEER_KEY, "ES256", PEER_KEY.keyId(),
                claims(AGENT, "orders", exp)), "unknown-key-id"));
        rows.add(Arguments.of("unknown kid", nimbus(TD_KEY, "ES256", "nope", claims(AGENT, "orders", exp)),
                "unknown-key-id"));
        rows.add(Arguments.of("bad signature", p[0] + "." + p[1] + "." + p[2].substring(0, p[2].length() - 4) + "AAAA",
                "bad-signature"));
        rows.add(Arguments.of("malformed", "not-a-token", "malformed"));
        rows.add(Arguments.of("sub not a SPIFFE ID", nimbus(TD_KEY, "ES256", TD_KEY.keyId(),
                claims("web@vm.test", "orders", exp)), "bad-subject"));
        return rows.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tokens")
    void validateJwtSvidAnswersIdAndClaimsOrAPreciseRefusal(String name, String token, String reason) throws Exception {
        Workload.ValidateJWTSVIDRequest req = Workload.ValidateJWTSVIDRequest.newBuilder().setAudience("orders")
                .setSvid(token).build();
        WorkloadApiClient client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath("unix:" + socket).build());
        try {
            if (reason == null) {
                Workload.ValidateJWTSVIDResponse r = stub().validateJWTSVID(req);
                assertThat(r.getSpiffeId()).startsWith("spiffe://");
                assertThat(r.getClaims().getFieldsMap()).containsKeys("sub", "aud", "exp");
                assertThat(r.getClaims().getFieldsMap().get("aud").getListValue().getValues(0).getStringValue())
                        .isEqualTo("orders");
                assertThat(client.validateJwtSvid(token, "orders").getSpiffeId().toString()).isEqualTo(r.getSpiffeId());
            } else {
                assertStatus(() -> stub().validateJWTSVID(req), Status.Code.INVALID_ARGUMENT,
                        "invalid JWT-SVID (" + reason + "): ");
                // java-spiffe wraps the gRPC status; our reason travels in it.
                assertThatThrownBy(() -> client.validateJwtSvid(token, "orders"))
                        .hasStackTraceContaining("INVALID_ARGUMENT: invalid JWT-SVID (" + reason + ")");
            }
        } finally {
            client.close();
        }
    }
}
