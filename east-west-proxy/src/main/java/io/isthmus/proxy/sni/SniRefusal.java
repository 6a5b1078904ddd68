package io.isthmus.proxy.sni;

/**
 * Why the ingress refused a connection on its ClientHello, before any handshake: its server name is a route name
 * ({@link RouteName}) that names nothing this cluster may be reached at that way. Stable codes for metrics and logs.
 */
public enum SniRefusal {
    /** Shaped like a route name under the mesh suffix, but not one (port label, label count, label syntax). */
    MALFORMED("sni-malformed"),
    /** This cluster exports no such service. */
    UNKNOWN_SERVICE("sni-unknown-service"),
    /** The service is exported here, but not on that port. */
    UNKNOWN_PORT("sni-unknown-port"),
    /**
     * The port speaks HTTP: its requests are authorized one by one by the gateway, so it is not reachable as a TCP
     * stream by name (use HTTP through the egress).
     */
    HTTP_PORT("sni-http-port"),
    /** A passthrough port without a backend on this gateway. */
    NO_BACKEND("sni-no-backend"),
    /**
     * A passthrough port whose backend is also the backend of one of the service's gateway-authorized ports: passing a
     * caller through to it would reach a workload that expects the gateway to have authorized the caller.
     */
    SHARED_BACKEND("sni-backend-shared");

    private final String code;

    SniRefusal(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}
