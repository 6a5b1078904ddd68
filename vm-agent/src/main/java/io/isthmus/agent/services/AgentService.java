package io.isthmus.agent.services;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One service this VM offers to the federation: mesh name {@code name.namespace}, the mesh port callers use, its
 * protocol ({@code http}, {@code http2}, {@code grpc}, {@code tcp}, or {@code mtls} when the app terminates mutual TLS
 * itself with an SVID from this agent: callers then reach it end to end) and the local port the app listens on. The
 * namespace must be the VM identity's own (the gateway refuses others).
 */
public record AgentService(String name, String namespace, int port, String protocol, int backendPort) {
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    public AgentService {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(protocol, "protocol");
        if (!LABEL.matcher(name).matches()) {
            throw new IllegalArgumentException("service name '" + name + "' is not a DNS label (lower case, digits, '-')");
        }
        if (!LABEL.matcher(namespace).matches()) {
            throw new IllegalArgumentException("namespace '" + namespace + "' of service " + name + " is not a DNS label");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " of service " + name + " is outside 1-65535");
        }
        if (backendPort < 1 || backendPort > 65535) {
            throw new IllegalArgumentException("backend-port " + backendPort + " of service " + name + " is outside 1-65535");
        }
        protocol = protocol.toLowerCase(Locale.ROOT);
        if (!protocol.matches("http|http2|grpc|tcp|mtls")) {
            throw new IllegalArgumentException("protocol '" + protocol + "' of service " + name
                    + " is not one of http, http2, grpc, tcp, mtls (the app terminates mutual TLS itself: passthrough)");
        }
    }
}
