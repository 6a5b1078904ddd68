package io.isthmus.proxy.ingress;

import java.net.InetSocketAddress;
import java.util.Optional;

import io.isthmus.registry.MeshName;

/**
 * Where the ingress finds the local workload behind a mesh name exported by this cluster. Called on the event
 * loop for every request: must be fast, non-blocking and thread-safe. An address may be unresolved; it is then
 * resolved when the connection is made.
 */
@FunctionalInterface
public interface LocalBackends {
    /**
     * @param name the mesh name the caller used
     * @param port the mesh port the caller used (80 when the caller named none)
     * @return the backend, or empty when this cluster serves no such service (the caller gets 404)
     */
    Optional<InetSocketAddress> resolve(MeshName name, int port);
}
