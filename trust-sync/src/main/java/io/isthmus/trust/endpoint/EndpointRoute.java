package io.isthmus.trust.endpoint;

/**
 * What the bundle endpoint serves at one path (and below it, as the longest matching prefix). Called once per request
 * on a virtual thread of its own, so it may block briefly (a file read, a signature check); it must answer, and a
 * {@link RuntimeException} becomes a 500 that is logged. Implementations are thread-safe.
 */
@FunctionalInterface
public interface EndpointRoute {
    EndpointAnswer answer(EndpointRequest request);
}
