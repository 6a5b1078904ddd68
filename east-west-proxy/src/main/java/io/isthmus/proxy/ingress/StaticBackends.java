package io.isthmus.proxy.ingress;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;

import io.isthmus.registry.MeshName;

/**
 * Backends from configuration: a mesh host name ({@code payments.billing.svc.clusterset.local}) maps to one
 * address whatever port the caller used, unless {@code kubernetesFallback} is set: then services without an
 * entry go to {@code <svc>.<ns>.svc.cluster.local:<port>}, the in-cluster Service of the same name.
 */
public final class StaticBackends implements LocalBackends {
    private final Map<String, InetSocketAddress> byHost;
    private final boolean kubernetesFallback;

    public StaticBackends(Map<String, InetSocketAddress> byHost, boolean kubernetesFallback) {
        this.byHost = Map.copyOf(byHost);
        this.kubernetesFallback = kubernetesFallback;
    }

    /** Parses {@code host:port} (a bracketed IPv6 literal is allowed) without resolving it. */
    public static InetSocketAddress parseAddress(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("'" + text + "' is not host:port");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': port is not a number");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("'" + text + "': port " + port + " is outside 1-65535");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    @Override
    public Optional<InetSocketAddress> resolve(MeshName name, int port) {
        InetSocketAddress configured = byHost.get(name.host());
        if (configured != null) {
            return Optional.of(configured);
        }
        if (kubernetesFallback) {
            return Optional.of(InetSocketAddress.createUnresolved(
                    name.service() + "." + name.namespace() + ".svc.cluster.local", port));
        }
        return Optional.empty();
    }
}
