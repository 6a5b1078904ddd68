package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/**
 * Identity smuggled in request trailers. A caller sends {@code x-isthmus-caller} and {@code x-forwarded-client-cert}
 * as trailer fields, after its body, where the gateways' header checks never looked: the egress removed them from
 * the request head only, the ingress vouched and rewrote the head only, and the trailers reached the backend as the
 * caller wrote them. A backend (or a framework) that reads trailer fields as headers then saw a forged caller next to
 * the verified one. Over HTTP/1.1 (chunked trailers) and HTTP/2 (a trailing HEADERS frame), through a's egress and
 * straight at b's ingress with a VM's own SVID, the backend (an echo that answers with the trailers it received) must
 * get the caller's other trailers and none of the identity fields.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IdentityTrailersTest {
    private static final MeshName ECHO = MeshName.of("echo", "billing");
    private static final String TOKEN = "Authorization: Bearer checkout";
    private static final String ADMIN = "spiffe://a.acme.internal/ns/kube-system/sa/admin";
    /** The trailers every attempt sends: one genuine, then the identity fields in several spellings. */
    private static final List<String> TRAILERS = List.of("x-checksum: 5eb63bbb", "x-isthmus-caller: " + ADMIN,
            "x-forwarded-client-cert: By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI=" + ADMIN);
    private static final List<String> TRAILERS_MIXED_CASE = List.of("x-checksum: 5eb63bbb",
            "X-Isthmus-Caller: " + ADMIN, "X-Forwarded-Client-Cert: By=x;URI=" + ADMIN);

    private Federation fed;
    private NettyBackends netty;
    private X509Svid vm;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)));
        fed.usePolicies(ImpersonationTest.VM_ALLOWED);
        vm = TestCa.svid(fed.cluster("a").ca, ImpersonationTest.VM);
        netty = new NettyBackends();
        fed.extraBackends.put(ECHO.host(), netty.echo());
        fed.export(fed.cluster("b"), ECHO, new ServicePort("http", 80, Protocol.HTTP));
    }

    @AfterAll
    void stop() {
        fed.close();
        netty.close();
    }

    /** What the backend received as trailers (it echoes them), checked: the genuine one kept, no identity field. */
    private static void onlyTheGenuineTrailerArrived(Map<String, String> echoed) {
        Map<String, String> lower = new java.util.HashMap<>();
        echoed.forEach((k, v) -> lower.put(k.toLowerCase(java.util.Locale.ROOT), v));
        assertThat(lower).as("trailers the backend received").containsEntry("x-checksum", "5eb63bbb")
                .containsEntry("x-echo-bytes", "11").doesNotContainKeys("x-isthmus-caller", "x-forwarded-client-cert");
        assertThat(echoed.values()).as("trailer values").noneMatch(v -> v.contains(ADMIN));
    }

    private static String chunkedPost(List<String> trailers, String... headers) {
        StringBuilder s = new StringBuilder("POST /trailers HTTP/1.1\r\nHost: " + ECHO.host() + "\r\n");
        for (String h : headers) {
            s.append(h).append("\r\n");
        }
        s.append("Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n");
        for (String t : trailers) {
            s.append(t).append("\r\n");
        }
        return s.append("\r\n").toString();
    }

    private Bulk.Response overHttp1(Bulk.Client c, List<String> trailers, String... headers) throws Exception {
        c.send(chunkedPost(trailers, headers));
        Bulk.Response head = c.readHead();
        assertThat(head.status()).isEqualTo(200);
        Bulk.Response body = c.readChunked(head);
        assertThat(body.body()).isEqualTo("hello world");
        return body;
    }

    private static List<String[]> h2Post(String scheme, String... extra) {
        List<String[]> fields = RawH2.fields(":method: POST", ":scheme: " + scheme, ":path: /trailers",
                ":authority: " + ECHO.host());
        fields.addAll(RawH2.fields(extra));
        return fields;
    }

    /** HTTP/2 field names are lower case (an upper-case one resets the stream), so only {@link #TRAILERS} go here. */
    private static RawH2.Result overHttp2(RawH2 h2, String scheme, List<String> trailers, String... headers)
            throws Exception {
        RawH2.Result r = h2.send(h2Post(scheme, headers), "hello world".getBytes(StandardCharsets.US_ASCII),
                RawH2.fields(trailers.toArray(String[]::new)));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("hello world");
        return r;
    }

    @Test
    void http1CallerAtTheEgress() throws Exception {
        try (Bulk.Client c = new Bulk.Client(fed.cluster("a").egress.address())) {
            onlyTheGenuineTrailerArrived(overHttp1(c, TRAILERS, TOKEN).headers());
            onlyTheGenuineTrailerArrived(overHttp1(c, TRAILERS_MIXED_CASE, TOKEN).headers());
        }
        assertThat(netty.seen).anySatisfy(s -> assertThat(s).startsWith("POST /trailers")
                .contains("xfcc=By=spiffe://b.acme.internal/").contains("URI=" + Federation.CHECKOUT));
    }

    @Test
    void http2CallerAtTheEgress() throws Exception {
        try (RawH2 h2 = RawH2.h2c(fed.cluster("a").egress.address())) {
            onlyTheGenuineTrailerArrived(overHttp2(h2, "http", TRAILERS, "authorization: Bearer checkout").headers());
        }
    }

    @Test
    void vmAtTheIngressOverHttp1() throws Exception {
        SSLContext tls = fed.cluster("a").clientContext(vm);
        InetSocketAddress ingress = fed.cluster("b").ingress.address();
        SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(ingress.getAddress(), ingress.getPort());
        socket.startHandshake();
        try (Bulk.Client c = new Bulk.Client(socket)) {
            onlyTheGenuineTrailerArrived(overHttp1(c, TRAILERS).headers());
            onlyTheGenuineTrailerArrived(overHttp1(c, TRAILERS_MIXED_CASE).headers());
        }
        assertThat(netty.seen).anySatisfy(s -> assertThat(s).startsWith("POST /trailers")
                .contains("URI=" + ImpersonationTest.VM));
    }

    @Test
    void vmAtTheIngressOverHttp2() throws Exception {
        try (RawH2 h2 = RawH2.tls(fed.cluster("b").ingress.address(), fed.cluster("a").clientContext(vm))) {
            onlyTheGenuineTrailerArrived(overHttp2(h2, "https", TRAILERS).headers());
        }
    }
}
