package io.isthmus.registry.signing;

import java.util.Optional;

import io.isthmus.registry.EntryVersion;

/**
 * How a registry signs what it writes and judges what it receives. Called on writer threads and on Infinispan's
 * listener threads: implementations are thread-safe and do no I/O.
 */
public interface EntryTrust {

    /** The signature of {@code recordBytes} by this gateway; empty when this registry signs nothing. */
    Optional<EntrySignature> sign(byte[] recordBytes);

    /**
     * @param writerSite the site named by the record's cross-site version, when the cache has one
     * @param held the version of this key this registry already holds, if any (see {@link EntryVersion})
     */
    EntryVerdict verify(String cacheKey, SignedRecord entry, Optional<String> writerSite, Optional<EntryVersion> held);

    /** The certificate {@link #sign} signs with now; empty when this registry signs nothing. */
    default Optional<java.security.cert.X509Certificate> currentSigner() {
        return Optional.empty();
    }

    /** Whether entries of other sites can reach this registry (then it must not be {@link #unsignedLocal}). */
    default boolean signs() {
        return true;
    }

    /**
     * For a registry whose cache is not replicated across sites (one process: tests, a gateway with replication
     * off): nothing is signed, and a record is used when it describes the key it is stored under and is not older
     * than the one held. No other writer than this process can reach such a cache.
     */
    static EntryTrust unsignedLocal() {
        return UnsignedLocalTrust.INSTANCE;
    }

}
