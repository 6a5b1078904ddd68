package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.tunnel.HeldBytes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * The byte counts of a spliced tunnel (its access-log line) include the bytes that crossed before the relays stood:
 * what each side's {@link HeldBytes} kept (a server's greeting right after a CONNECT's 200, a client's first bytes)
 * and the far side's early bytes. The greeting case was undercounted (19 bytes short in a fresh-clone run of
 * {@code L4RoutingTest}) whenever the greeting was held rather than relayed.
 */
class SpliceTest {

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static String drain(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        List<ByteBuf> bufs = new ArrayList<>();
        for (ByteBuf b = ch.readOutbound(); b != null; b = ch.readOutbound()) {
            bufs.add(b);
        }
        bufs.forEach(b -> {
            out.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        });
        return out.toString();
    }

    @Test
    void heldAndEarlyBytesAreDeliveredAndCountedEachWay() {
        EmbeddedChannel near = new EmbeddedChannel(new HeldBytes());
        EmbeddedChannel far = new EmbeddedChannel(new HeldBytes());
        near.writeInbound(text("hello from the caller\n"));   // 22 bytes, held at the caller's side
        far.writeInbound(text("db hello anonymous\n"));        // 19 bytes, the server's greeting, held

        Splice.Spliced spliced = Splice.join(near, List.of(), far, List.of(), List.of(text("early\n")));

        assertThat(drain(far)).isEqualTo("hello from the caller\n");
        assertThat(drain(near)).contains("early\n", "db hello anonymous\n").hasSize(6 + 19);
        assertThat(spliced.fromCaller()).isEqualTo(22);
        assertThat(spliced.toCaller()).isEqualTo(6 + 19);

        far.writeInbound(text("db echo select 1\n"));          // 17 bytes through the relay
        near.writeInbound(text("select 1\n"));                 // 9 bytes through the relay
        assertThat(drain(near)).isEqualTo("db echo select 1\n");
        assertThat(drain(far)).isEqualTo("select 1\n");
        assertThat(spliced.toCaller()).isEqualTo(6 + 19 + 17);
        assertThat(spliced.fromCaller()).isEqualTo(22 + 9);
        near.finishAndReleaseAll();
        far.finishAndReleaseAll();
    }
}
