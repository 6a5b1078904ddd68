package io.isthmus.registry;

import java.util.Locale;

/**
 * Infers what a port speaks the way Kubernetes and meshes declare it: the port's {@code appProtocol} when it
 * names a protocol we know, else the port name's prefix ({@code http}, {@code http-web}, {@code http2-…},
 * {@code grpc-…}, {@code tcp-…}), else TCP (opaque bytes are always safe to carry). Pure.
 */
public final class PortProtocols {
    private PortProtocols() {
    }

    public static Protocol infer(String appProtocol, String portName) {
        if (appProtocol != null && !appProtocol.isBlank()) {
            try {
                return Protocol.parse(appProtocol);
            } catch (IllegalArgumentException e) {
                // e.g. "https" or a vendor protocol: fall back to the name
            }
        }
        String name = portName == null ? "" : portName.toLowerCase(Locale.ROOT);
        String prefix = name.contains("-") ? name.substring(0, name.indexOf('-')) : name;
        return switch (prefix) {
            case "http2", "h2c" -> Protocol.HTTP2;
            case "grpc", "grpc-web" -> Protocol.GRPC;
            case "http" -> Protocol.HTTP;
            default -> Protocol.TCP;
        };
    }

    /**
     * Parses a port written in configuration: {@code name:port} (protocol inferred from the name) or
     * {@code name:port:protocol}.
     */
    public static ServicePort parse(String text) {
        String[] parts = text == null ? new String[0] : text.trim().split(":");
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("port '" + text + "' is not name:port or name:port:protocol");
        }
        int port;
        try {
            port = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port '" + text + "' has no numeric port after the name");
        }
        Protocol protocol = parts.length == 3 ? Protocol.parse(parts[2]) : infer(null, parts[0]);
        return new ServicePort(parts[0], port, protocol);
    }
}
