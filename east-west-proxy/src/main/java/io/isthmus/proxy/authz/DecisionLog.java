package io.isthmus.proxy.authz;

/**
 * Records every authorization decision (one JSON audit line each, plus metrics). Called on the event loop after
 * each decision; must not block (hand off to an async appender).
 */
@FunctionalInterface
public interface DecisionLog {
    void record(AccessRequest request, Decision decision);
}
