package io.isthmus.registry.xsite;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How peer sites reach this site's bridge when its replicas sit behind a load balancer (or NAT) in another network:
 * peers dial {@code host:port}, the balancer forwards to any replica, and that replica relays the connection to the
 * site master ({@link BridgeRelay}), whose own bridge listens on {@code masterPort} and advertises {@code host:port}
 * (JGroups' {@code external_addr}/{@code external_port}) instead of its pod address, which peers cannot route to.
 *
 * @param host DNS name or IP of the load balancer as peers dial it; a name is resolved each time a site master
 *             creates its bridge, so a name published after the gateway started (external-dns) still works
 * @param port the balancer's bridge port
 * @param masterPort the port the site master's own bridge transport binds on its bind address (replica to replica)
 */
public record AdvertisedBridge(String host, int port, int masterPort) {
    private static final Pattern HOST = Pattern.compile(
            "[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*");

    public AdvertisedBridge {
        Objects.requireNonNull(host, "host");
        if (!HOST.matcher(host).matches()) {
            throw new IllegalArgumentException("advertised bridge host '" + host + "' is not a DNS name or IPv4 address;"
                    + " give the load balancer's address as peers dial it, e.g. gw.aws-east.example");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("advertised bridge port " + port + " is outside 1-65535");
        }
        if (masterPort < 1 || masterPort > 65535) {
            throw new IllegalArgumentException("site master bridge port " + masterPort + " is outside 1-65535");
        }
    }

    @Override
    public String toString() {
        return host + ":" + port + " (site master bridge on port " + masterPort + ")";
    }
}
