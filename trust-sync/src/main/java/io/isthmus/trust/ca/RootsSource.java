package io.isthmus.trust.ca;

/**
 * Where a verifier finds the federation roots in force now. Read on every verification (never cached by the
 * caller), so that a root added or removed at run time applies to the next handshake. A fixed
 * {@link FederationRoots} is its own source. Must be thread-safe and must not block.
 */
@FunctionalInterface
public interface RootsSource {
    FederationRoots roots();
}
