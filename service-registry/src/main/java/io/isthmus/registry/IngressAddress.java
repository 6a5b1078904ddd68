package io.isthmus.registry;

import java.util.Objects;

/** The public address of a cluster's east-west ingress (mTLS, default port 15443). */
public record IngressAddress(String host, int port) {
    public IngressAddress {
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("ingress host is empty");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("ingress port " + port + " is outside 1-65535");
        }
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
