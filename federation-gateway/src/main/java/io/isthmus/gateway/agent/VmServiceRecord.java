package io.isthmus.gateway.agent;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Objects;

import io.isthmus.registry.Protocol;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * One VM service registration: the mesh service {@code name.namespace}, the mesh port and protocol it is exported
 * with, the VM's backend {@code host:backendPort}, the VM identity that registered it and when it expires. Stored
 * in the replicated cache as one line of text (no custom marshaller needed).
 */
public record VmServiceRecord(String namespace, String name, int port, Protocol protocol, String backendHost,
        int backendPort, SpiffeId owner, Instant expiresAt) {

    public VmServiceRecord {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(backendHost, "backendHost");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(expiresAt, "expiresAt");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 1-65535");
        }
        if (backendPort < 1 || backendPort > 65535) {
            throw new IllegalArgumentException("backendPort " + backendPort + " is outside 1-65535");
        }
        if (backendHost.isBlank() || backendHost.contains(" ")) {
            throw new IllegalArgumentException("backend host '" + backendHost + "' is not an address");
        }
    }

    /** What a VM asks for; the gateway adds the expiry. */
    public record Request(String namespace, String name, int port, Protocol protocol, String backendHost,
            int backendPort, SpiffeId owner) {
    }

    /** The cache key: {@code namespace/name}. */
    public String key() {
        return key(namespace, name);
    }

    static String key(String namespace, String name) {
        return namespace + "/" + name;
    }

    public InetSocketAddress backend() {
        return InetSocketAddress.createUnresolved(backendHost, backendPort);
    }

    public boolean expired(Instant now) {
        return !now.isBefore(expiresAt);
    }

    String encode() {
        return String.join(" ", namespace, name, Integer.toString(port), protocol.name(), backendHost,
                Integer.toString(backendPort), owner.toString(), Long.toString(expiresAt.toEpochMilli()));
    }

    static VmServiceRecord decode(String text) {
        String[] f = text.split(" ");
        if (f.length != 8) {
            throw new IllegalArgumentException("not a VM service record: " + text);
        }
        return new VmServiceRecord(f[0], f[1], Integer.parseInt(f[2]), Protocol.valueOf(f[3]), f[4],
                Integer.parseInt(f[5]), SpiffeId.parse(f[6]), Instant.ofEpochMilli(Long.parseLong(f[7])));
    }
}
