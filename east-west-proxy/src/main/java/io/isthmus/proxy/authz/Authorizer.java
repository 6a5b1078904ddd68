package io.isthmus.proxy.authz;

/**
 * The destination cluster's authorization policy, default deny. Called on the Netty event loop for every
 * request (L7) or connection (L4): must be pure, non-blocking and thread-safe. Policy reloads swap the whole
 * policy set atomically; a call sees either the old or the new set, never a mix.
 */
@FunctionalInterface
public interface Authorizer {
    Decision authorize(AccessRequest request);
}
