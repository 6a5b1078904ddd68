package io.isthmus.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.transport.NettyTransport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

/**
 * Where a listener puts the connections it accepts: the choice as a table, then real listeners sharing one
 * two-loop worker group, with real sockets on loopback.
 */
class LeastConnectedLoopsTest {
    private final NettyTransport transport = NettyTransport.create(2, "balance-test");
    private final List<Listener> listeners = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();

    @AfterEach
    void close() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        listeners.forEach(Listener::close);
        transport.close();
    }

    @ParameterizedTest(name = "open {0}, turn {1} -> loop {2}")
    @CsvSource(delimiter = ';', value = {
            "0 0; 0; 0", // all empty: the turn decides
            "0 0; 1; 1",
            "0 0; 7; 1", // the turn is taken modulo the loops
            "1 0; 0; 1", // the emptier loop, whatever the turn
            "0 1; 1; 0",
            "2 1 1; 0; 1", // equals: the first at or after the turn
            "2 1 1; 2; 2",
            "2 1 1; 3; 1",
            "3 3 0 3; 1; 2",
            "5; 4; 0", // one loop
            "0 0; -1; 1", // a turn counter that wrapped below zero still picks a loop
    })
    void choosesTheLoopWithTheFewestOpenConnections(String open, int turn, int expected) {
        int[] counts = java.util.Arrays.stream(open.split(" ")).mapToInt(Integer::parseInt).toArray();
        assertThat(LeastConnectedLoops.choose(counts, turn)).isEqualTo(expected);
    }

    /**
     * The benchmark's case: another listener of the same workers accepts a connection between two of this one's. With
     * the workers' own round robin (one counter for every listener) both of this listener's connections landed on
     * one loop, and both of the other's on the other loop.
     */
    @Test
    void aListenersConnectionsSpreadOverTheLoopsWhateverOtherListenersAccept() throws IOException {
        Listener ingress = listener("ingress");
        Listener egress = listener("egress");

        connect(ingress);
        connect(egress);
        connect(ingress);
        connect(egress);

        assertThat(perLoop(ingress).values()).as("ingress connections per loop").containsExactly(1L, 1L);
        assertThat(perLoop(egress).values()).as("egress connections per loop").containsExactly(1L, 1L);
        assertThat(ingress.connectionsPerLoop()).containsExactly(1, 1);
    }

    /**
     * A closed connection frees its place: the next one goes to the loop that lost it. The test closes one on the
     * second loop, the one a plain round robin would not pick next (after four registrations it starts again at the
     * first).
     */
    @Test
    void aNewConnectionGoesWhereOneClosed() throws IOException {
        Listener ingress = listener("ingress");
        for (int i = 0; i < 4; i++) {
            connect(ingress);
        }
        EventLoop second = (EventLoop) java.util.stream.StreamSupport.stream(transport.workers().spliterator(), false)
                .skip(1).findFirst().orElseThrow();
        assertThat(perLoop(ingress).get(second)).isEqualTo(2L);
        Channel onSecond = ingress.connections().stream().filter(c -> c.eventLoop() == second).findFirst().orElseThrow();
        onSecond.close().syncUninterruptibly();
        await().atMost(Duration.ofSeconds(5)).until(() -> ingress.connections().size() == 3);

        connect(ingress);
        assertThat(perLoop(ingress).get(second)).as("the loop that lost a connection").isEqualTo(2L);
        assertThat(perLoop(ingress).values()).containsExactly(2L, 2L);
    }

    private Listener listener(String name) {
        ProxySettings settings = ProxySettings.defaults();
        Listener l = new Listener(name, transport, settings, Listener.gate(name, settings.ingressConnections()),
                new ProxyMetrics(new SimpleMeterRegistry()),
                c -> { });
        l.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "plain, test");
        listeners.add(l);
        return l;
    }

    private void connect(Listener l) throws IOException {
        int before = l.connections().size();
        sockets.add(new Socket(InetAddress.getLoopbackAddress(), l.address().getPort()));
        // One accept at a time, in this order, as the test means it.
        await().atMost(Duration.ofSeconds(5)).until(() -> l.connections().size() == before + 1);
    }

    private static Map<EventLoop, Long> perLoop(Listener l) {
        return l.connections().stream().collect(Collectors.groupingBy(Channel::eventLoop, Collectors.counting()));
    }
}
