package io.isthmus.proxy.sni;

import java.util.List;
import java.util.Optional;

import io.isthmus.registry.MeshName;
import io.isthmus.registry.Registry;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;

/**
 * The ports (with their declared protocols) of the services this cluster exports, as the ingress's SNI routing asks
 * for them: on the event loop, per connection. Implementations must be fast, non-blocking and thread-safe.
 */
@FunctionalInterface
public interface LocalExports {

    /** The ports this cluster exports {@code name} with; empty when it does not export it. */
    Optional<List<ServicePort>> portsOf(MeshName name);

    /** This cluster's own entries of {@code registry} (the registry's in-memory index; no I/O). */
    static LocalExports of(Registry registry) {
        return name -> registry.get(new ServiceKey(registry.cluster(), name.namespace(), name.service()))
                .map(e -> e.ports());
    }

    /** Exports nothing: every route name is refused, every other name terminated as before. */
    static LocalExports none() {
        return name -> Optional.empty();
    }
}
