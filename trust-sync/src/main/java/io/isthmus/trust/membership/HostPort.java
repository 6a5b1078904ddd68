package io.isthmus.trust.membership;

import java.net.InetSocketAddress;
import java.util.regex.Pattern;

/**
 * A {@code host:port} as a member advertises it (a bridge or ingress address): a DNS name or an IPv4 address, or
 * an IPv6 address in brackets, and a port in 1-65535. Kept unresolved: each gateway resolves it when it dials.
 */
public record HostPort(String host, int port) {
    private static final Pattern HOST = Pattern.compile(
            "[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\]");

    public HostPort {
        if (host == null || !HOST.matcher(host).matches()) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "'" + host
                    + "' is not a host name, an IPv4 address or a bracketed IPv6 address");
        }
        if (port < 1 || port > 65535) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "port " + port + " of " + host
                    + " is outside 1-65535");
        }
    }

    /** Parses {@code host:port}. */
    public static HostPort parse(String text) {
        int colon = text == null ? -1 : text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "'" + text + "' is not host:port");
        }
        try {
            return new HostPort(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "'" + text
                    + "' has no port number after the ':'");
        }
    }

    public InetSocketAddress unresolved() {
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        return InetSocketAddress.createUnresolved(h, port);
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
