package io.isthmus.proxy.tls;

import org.jboss.logging.Logger;

import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.trust.svid.SvidVerdict;
import io.netty.channel.Channel;

/**
 * Closes established connections whose peer no longer verifies, after the bundles changed. Each check runs on
 * the connection's own event loop; the caller (any thread, e.g. the bundle-sync thread) never blocks.
 */
public final class Revalidation {
    private static final Logger LOG = Logger.getLogger(Revalidation.class);

    private Revalidation() {
    }

    public static void recheck(Iterable<Channel> channels, ProxyTls tls, ProxyMetrics metrics, String listener) {
        for (Channel ch : channels) {
            ch.eventLoop().execute(() -> {
                SvidVerdict.Rejected rejected = tls.recheck(ch);
                if (rejected != null && ch.isActive()) {
                    LOG.infof("%s: closing connection with %s: its peer no longer verifies: %s", listener,
                            ch.remoteAddress(), rejected.message());
                    metrics.revoked(listener, rejected.reason().label());
                    ch.close();
                }
            });
        }
    }
}
