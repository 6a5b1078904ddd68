package io.isthmus.proxy.sni;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

import io.isthmus.registry.MeshName;

/**
 * The server name (TLS SNI) that names one port of a mesh service to a gateway: {@code <port>.<service>.<namespace>.<suffix>},
 * e.g. {@code 5432.postgres.data.svc.clusterset.local}. A gateway reads it from the ClientHello, before any
 * decryption, to choose the connection's route: terminate it (L4, authorized by the caller's identity) or pass it
 * through to the workload, which terminates TLS itself.
 *
 * <p>The port label has one spelling only (decimal, no sign, no leading zero), so that one name cannot be written two
 * ways and routed differently from how it is logged or matched.
 */
public record RouteName(MeshName name, int port) {
    private static final Pattern PORT = Pattern.compile("[1-9][0-9]{0,4}");

    public RouteName {
        Objects.requireNonNull(name, "name");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 1-65535");
        }
    }

    /** The SNI to send: {@code <port>.<service>.<namespace>.<suffix>}. */
    public String sni() {
        return port + "." + name.host();
    }

    /** {@code <service>.<namespace>.<suffix>:<port>}: the CONNECT authority of this route. */
    public String authority() {
        return name.host() + ":" + port;
    }

    @Override
    public String toString() {
        return sni();
    }

    /** What a server name says about routing. */
    public sealed interface Parsed {
        /** Not a route name: absent, an address, another domain, or a mesh name without a port label. */
        record NotARoute() implements Parsed {
        }

        record Route(RouteName route) implements Parsed {
        }

        /** Shaped like a route name under the mesh suffix, but not one; {@code detail} quotes it and says why. */
        record Malformed(String detail) implements Parsed {
        }
    }

    /**
     * Reads a server name as a route name under {@code suffix}, case-insensitively as DNS does. Pure.
     *
     * @param sni the server name from the ClientHello, or null when it had none
     */
    public static Parsed parse(String sni, String suffix) {
        Objects.requireNonNull(suffix, "suffix");
        if (sni == null || sni.isEmpty()) {
            return new Parsed.NotARoute();
        }
        String lower = sni.toLowerCase(Locale.ROOT);
        String tail = "." + suffix.toLowerCase(Locale.ROOT);
        if (!lower.endsWith(tail)) {
            return new Parsed.NotARoute();
        }
        String[] labels = lower.substring(0, lower.length() - tail.length()).split("\\.", -1);
        if (labels.length == 2 && !labels[0].isEmpty() && !labels[1].isEmpty()) {
            // <service>.<namespace>.<suffix>: a client naming the service it calls over HTTP (routed by Host).
            return new Parsed.NotARoute();
        }
        String expected = "; a route name is <port>.<service>.<namespace>." + suffix
                + " with a port 1-65535 written without sign or leading zeros";
        if (labels.length != 3) {
            return new Parsed.Malformed("server name '" + printable(sni) + "' has " + labels.length + " label(s) before ."
                    + suffix + expected);
        }
        if (!PORT.matcher(labels[0]).matches() || Integer.parseInt(labels[0]) > 65535) {
            return new Parsed.Malformed("server name '" + printable(sni) + "' starts with '" + printable(labels[0])
                    + "', not a port" + expected);
        }
        try {
            return new Parsed.Route(new RouteName(new MeshName(labels[1], labels[2], suffix), Integer.parseInt(labels[0])));
        } catch (IllegalArgumentException e) {
            return new Parsed.Malformed("server name '" + printable(sni) + "': " + printable(e.getMessage()));
        }
    }

    /** Control and non-ASCII characters escaped, so a hostile name cannot forge log lines. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f) {
                b.append(String.format("\\x%02x", (int) c & 0xff));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
