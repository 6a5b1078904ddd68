package io.isthmus.trust.tls;

import io.isthmus.trust.svid.X509Svid;

/**
 * The SVID this process presents right now. Called on every TLS handshake: must be cheap, non-blocking and
 * thread-safe, and must return a complete snapshot (key and chain of the same SVID).
 */
@FunctionalInterface
public interface SvidSource {
    X509Svid current();
}
