package io.isthmus.proxy.tls;

import java.time.Duration;

import org.jboss.logging.Logger;

import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.trust.svid.EstablishedPeer;
import io.netty.channel.Channel;

/**
 * Re-verifies the peers of established connections after the trust changed (a bundle lost a CA, a root was
 * removed) and acts on {@link EstablishedPeer}'s verdict: a revoked peer's connection is closed at once, a retired
 * one's is drained ({@link ConnectionDrain}), a still-trusted one is left alone. Each check runs on the connection's
 * own event loop; the caller (any thread, e.g. the bundle-sync thread) never blocks.
 */
public final class Revalidation {
    private static final Logger LOG = Logger.getLogger(Revalidation.class);

    private Revalidation() {
    }

    public static void recheck(Iterable<Channel> channels, ProxyTls tls, ProxyMetrics metrics, String listener,
            Duration drainTimeout) {
        for (Channel ch : channels) {
            ch.eventLoop().execute(() -> {
                if (!ch.isActive()) {
                    return;
                }
                switch (tls.recheck(ch)) {
                    case EstablishedPeer.Keep keep -> {
                    }
                    case EstablishedPeer.Drain drain -> {
                        if (!ConnectionDrain.isDraining(ch)) {
                            LOG.infof("%s: draining connection with %s (in-flight work may finish within %s): %s",
                                    listener, ch.remoteAddress(), drainTimeout, drain.message());
                            metrics.drained(listener, drain.reason().label());
                            ConnectionDrain.drain(ch, drainTimeout);
                        }
                    }
                    case EstablishedPeer.Close close -> {
                        LOG.infof("%s: closing connection with %s: its peer no longer verifies: %s", listener,
                                ch.remoteAddress(), close.message());
                        metrics.revoked(listener, close.reason().label());
                        ConnectionDrain.closeNow(ch);
                    }
                }
            });
        }
    }
}
