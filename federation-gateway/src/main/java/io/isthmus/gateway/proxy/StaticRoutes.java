package io.isthmus.gateway.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.proxy.ingress.StaticBackends;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServiceResolver;

/**
 * The resolver of last resort, from {@code isthmus.proxy.routes}: used only when no registry resolver is
 * deployed, so that a gateway can still route. Every listed ingress counts as healthy; order is preference.
 */
final class StaticRoutes implements ServiceResolver {
    private static final Duration FOREVER = Duration.ofDays(365 * 100L);
    private final Map<MeshName, List<ExportedService>> routes;

    StaticRoutes(Map<String, List<String>> config, String suffix) {
        Map<MeshName, List<ExportedService>> map = new HashMap<>();
        Instant now = Instant.now();
        config.forEach((host, targets) -> {
            MeshName name = MeshName.parseHost(host, suffix).orElseThrow(() -> new ConfigException(
                    "isthmus.proxy.routes.\"" + host + "\"", "not a mesh name <service>.<namespace>." + suffix));
            List<ExportedService> list = new ArrayList<>();
            int i = 0;
            for (String target : targets) {
                InetSocketAddress address;
                try {
                    address = StaticBackends.parseAddress(target.trim());
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("isthmus.proxy.routes.\"" + host + "\"", e.getMessage());
                }
                list.add(new ExportedService(new ServiceKey("static-" + i++, name.namespace(), name.service()),
                        List.of(), List.of(), new IngressAddress(address.getHostString(), address.getPort()),
                        Locality.UNKNOWN, 1, 1, now, FOREVER));
            }
            map.put(name, List.copyOf(list));
        });
        this.routes = Map.copyOf(map);
    }

    @Override
    public List<ExportedService> resolve(MeshName name, Locality from) {
        return routes.getOrDefault(name, List.of());
    }
}
