package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;

/**
 * Issue 14 item 6: peer ingresses announced by host name are resolved by Netty's DNS resolver, asynchronously. The
 * gateways (one event loop each) ask a name server run by the test (Netty's DNS codec over UDP on loopback): a name it
 * answers is reached; a name it never answers holds up only the request that needs it: other requests on the same
 * event loop are served meanwhile, and the waiting one moves on to the next cluster when the lookup gives up.
 */
class AsyncResolutionTest {
    private static final MeshName ORDERS = MeshName.of("orders", "shop");
    private static final String TOKEN = "Authorization: Bearer checkout";
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(5);

    private final EventLoopGroup dnsLoop = new NioEventLoopGroup(1);
    /** Every question the name server got, as "name type". */
    private final List<String> questions = new CopyOnWriteArrayList<>();
    private Channel nameServer;
    private Federation fed;

    @BeforeEach
    void start() throws Exception {
        nameServer = new Bootstrap().group(dnsLoop).channel(NioDatagramChannel.class)
                .handler(new ChannelInitializer<DatagramChannel>() {
                    @Override
                    protected void initChannel(DatagramChannel ch) {
                        ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(),
                                new SimpleChannelInboundHandler<DatagramDnsQuery>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
                                        DnsQuestion q = query.recordAt(DnsSection.QUESTION);
                                        questions.add(q.name() + " " + q.type().name());
                                        if (q.name().startsWith("silent.")) {
                                            return;
                                        }
                                        DatagramDnsResponse answer = new DatagramDnsResponse(query.recipient(),
                                                query.sender(), query.id());
                                        answer.addRecord(DnsSection.QUESTION, q);
                                        if (q.name().equals("gw-b.test.") && q.type() == DnsRecordType.A) {
                                            answer.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(q.name(),
                                                    DnsRecordType.A, 60, Unpooled.wrappedBuffer(new byte[] {127, 0, 0, 1})));
                                        }
                                        ctx.writeAndFlush(answer);
                                    }
                                });
                    }
                }).bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
        InetSocketAddress dns = (InetSocketAddress) nameServer.localAddress();
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)), PathNormalization.DEFAULT, name -> NettyTransport.create(1, "gw-" + name,
                        new SingletonDnsServerAddressStreamProvider(dns), QUERY_TIMEOUT));
    }

    @AfterEach
    void stop() {
        fed.close();
        nameServer.close().syncUninterruptibly();
        dnsLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private RawHttp.Response get(String host) throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            return http.exchange(RawHttp.get("/", host, TOKEN));
        }
    }

    @Test
    void aPeerIngressAnnouncedByNameIsReachedThroughTheNameServer() throws Exception {
        Federation.Cluster b = fed.cluster("b");
        fed.extraBackends.put(ORDERS.host(), b.backend.getAddress());
        fed.exportAt("b", "gw-b.test", b.ingress.address().getPort(), b.locality, ORDERS,
                new ServicePort("http", 80, Protocol.HTTP));
        RawHttp.Response r = get(ORDERS.host());
        assertThat(r.status()).as("%s", r).isEqualTo(200);
        assertThat(r.body()).contains("cluster=b").contains("By=spiffe://b.acme.internal/");
        assertThat(questions).contains("gw-b.test. A");
    }

    @Test
    void aLookupThatNeverAnswersHoldsUpOnlyItsOwnRequestWhichThenMovesOn() throws Exception {
        Federation.Cluster b = fed.cluster("b");
        Federation.Cluster c = fed.cluster("c");
        fed.extraBackends.put(ORDERS.host(), c.backend.getAddress());
        fed.exportAt("b", "silent.test", b.ingress.address().getPort(), b.locality, ORDERS,
                new ServicePort("http", 80, Protocol.HTTP));
        fed.export(c, ORDERS, new ServicePort("http", 80, Protocol.HTTP));
        CompletableFuture<RawHttp.Response> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return get(ORDERS.host());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> questions.stream().anyMatch(q -> q.startsWith("silent.")));
        long asked = System.nanoTime();
        // a's single event loop serves others while the lookup is pending: a blocking lookup would hold them all.
        for (int i = 0; i < 10; i++) {
            assertThat(get(Federation.PAYMENTS.host()).status()).isEqualTo(200);
        }
        // The unanswered query ends only after its timeout: everything before that happened while it was pending.
        assertThat(Duration.ofNanos(System.nanoTime() - asked)).as("10 calls served meanwhile").isLessThan(QUERY_TIMEOUT);
        assertThat(waiting).as("the request that needs the unanswered name is still waiting for it").isNotDone();
        RawHttp.Response r = waiting.get(60, TimeUnit.SECONDS);
        assertThat(r.status()).as("%s", r).isEqualTo(200);
        assertThat(r.body()).contains("cluster=c");
        assertThat(fed.cluster("a").counter("isthmus_upstream_connect_failures_total", "cluster", "b"))
                .isEqualTo(1.0);
    }
}
