package io.isthmus.proxy.egress;

import java.util.Locale;
import java.util.Optional;

import io.isthmus.registry.MeshName;

/**
 * Where a local caller wants to go: from an absolute request URI ({@code GET http://payments.billing.svc.clusterset.local:8080/x},
 * HTTP proxy style) or from the Host header ({@code GET /x} with {@code Host: payments...}).
 *
 * @param name     the mesh name
 * @param port     the port the caller named, or -1 when it named none
 * @param path     the origin-form request target to send on ({@code /x?y})
 * @param proxyStyle whether the caller addressed us as an HTTP proxy (refusals then use 407)
 */
public record EgressTarget(MeshName name, int port, String path, boolean proxyStyle) {

    /** Why a request target is not a mesh name: the text for the 4xx detail. */
    public static final class NotAMeshName extends Exception {
        private static final long serialVersionUID = 1L;

        NotAMeshName(String message) {
            super(message, null, false, false);
        }
    }

    public static EgressTarget parse(String uri, String hostHeader, String suffix) throws NotAMeshName {
        String authority;
        String path;
        boolean proxyStyle;
        String lower = uri.length() >= 8 ? uri.substring(0, 8).toLowerCase(Locale.ROOT) : uri.toLowerCase(Locale.ROOT);
        if (lower.startsWith("http://")) {
            // The authority ends at the first '/', '?' or '#' (RFC 3986 section 3.2), exactly where the request
            // validator ends it when it compares it with Host: cut at '/' only, "http://a#@b/" was routed to b
            // after a had been checked.
            int end = 7;
            while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
                end++;
            }
            authority = uri.substring(7, end);
            String rest = uri.substring(end);
            path = rest.isEmpty() ? "/" : rest.charAt(0) == '/' ? rest : "/" + rest;
            proxyStyle = true;
        } else if (lower.startsWith("https://")) {
            throw new NotAMeshName("call http://" + uri.substring(8) + ": the gateway provides the mutual TLS");
        } else {
            if (hostHeader == null || hostHeader.isBlank()) {
                throw new NotAMeshName("the request has neither an absolute URI nor a Host header");
            }
            authority = hostHeader.trim();
            path = uri.isEmpty() ? "/" : uri;
            proxyStyle = false;
        }
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            authority = authority.substring(at + 1);
        }
        int port = -1;
        int colon = authority.lastIndexOf(':');
        if (colon > 0 && authority.indexOf(']') < colon) {
            try {
                port = Integer.parseInt(authority.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new NotAMeshName("port in '" + authority + "' is not a number");
            }
            if (port < 1 || port > 65535) {
                throw new NotAMeshName("port " + port + " is outside 1-65535");
            }
        }
        Optional<MeshName> name = MeshName.parseHost(authority, suffix);
        if (name.isEmpty()) {
            throw new NotAMeshName("'" + authority + "' is not a mesh name <service>.<namespace>." + suffix);
        }
        return new EgressTarget(name.get(), port, path, proxyStyle);
    }

    /** A {@code CONNECT} target: {@code <mesh name>:<port>}, the port required. */
    public static EgressTarget parseConnect(String authority, String suffix) throws NotAMeshName {
        EgressTarget t = parse("/", authority, suffix);
        if (t.port() < 0) {
            throw new NotAMeshName("CONNECT " + authority + ": name the port, e.g. " + authority + ":5432");
        }
        return new EgressTarget(t.name(), t.port(), authority, true);
    }

    /** The Host header sent on: the mesh name, with the port when one was chosen. */
    public String authority(int chosenPort) {
        return chosenPort == 80 ? name.host() : name.host() + ":" + chosenPort;
    }
}
