package io.isthmus.trust.status;

import java.time.Duration;
import java.util.List;

/**
 * Asks every configured peer for its {@link TrustStatus}. Blocks the caller for at most {@code timeout} (peers are
 * asked in parallel); a peer that does not answer in time is {@link PeerReport.Unavailable}. Thread-safe. Must not
 * be called on a thread that may not block (event loops).
 */
@FunctionalInterface
public interface PeerStatusSource {
    List<PeerReport> fetchAll(Duration timeout);
}
