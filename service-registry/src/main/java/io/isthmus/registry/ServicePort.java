package io.isthmus.registry;

import java.util.Objects;

/** One port of an exported service. */
public record ServicePort(String name, int port, Protocol protocol) {
    public ServicePort {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(protocol, "protocol");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 1-65535");
        }
    }
}
