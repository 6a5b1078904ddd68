package io.isthmus.agent.services;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Reads the VM's services file, Java properties with one group of keys per service:
 *
 * <pre>
 * orders.namespace=shop
 * orders.backend-port=8080
 * orders.port=80          # optional, default: backend-port
 * orders.protocol=http    # optional, default http
 * </pre>
 *
 * Unknown keys and missing required keys fail with the key named.
 */
public final class ServicesFile {
    private ServicesFile() {
    }

    public static List<AgentService> read(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return parse(p, file.toString());
    }

    static List<AgentService> parse(Properties p, String source) {
        Map<String, Map<String, String>> byService = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            int dot = key.indexOf('.');
            if (dot <= 0) {
                throw new IllegalArgumentException(source + ": key '" + key + "' is not <service>.<field>");
            }
            String field = key.substring(dot + 1);
            if (!List.of("namespace", "port", "backend-port", "protocol").contains(field)) {
                throw new IllegalArgumentException(source + ": key '" + key
                        + "': unknown field (namespace, port, backend-port, protocol)");
            }
            byService.computeIfAbsent(key.substring(0, dot), k -> new TreeMap<>()).put(field, p.getProperty(key).trim());
        }
        List<AgentService> out = new ArrayList<>();
        byService.forEach((name, f) -> {
            try {
                String ns = f.get("namespace");
                if (ns == null || f.get("backend-port") == null) {
                    throw new IllegalArgumentException("needs " + name + ".namespace and " + name + ".backend-port");
                }
                int backend = Integer.parseInt(f.get("backend-port"));
                int port = f.containsKey("port") ? Integer.parseInt(f.get("port")) : backend;
                out.add(new AgentService(name, ns, port, f.getOrDefault("protocol", "http"), backend));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(source + ": service " + name + ": a port is not a number", e);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
            }
        });
        return List.copyOf(out);
    }
}
