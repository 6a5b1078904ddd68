package io.isthmus.integration.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.gateway.authz.AuthzConfig;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.enrolment.AdminConfig;
import io.isthmus.gateway.enrolment.EnrolmentConfig;
import io.isthmus.gateway.proxy.ProxyConfig;
import io.isthmus.gateway.registry.RegistryConfig;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * What a pod of the rendered StatefulSet reads, rebuilt offline: its configuration through the gateway's own
 * {@code @ConfigMapping}s, and its CA volume's files written as the kubelet writes them.
 */
public final class RenderedPod {
    /** Every @ConfigMapping of the gateway: together they must consume every isthmus.* key the module writes. */
    public static final List<Class<?>> MAPPINGS = List.of(GatewayConfig.class, RegistryConfig.class, ProxyConfig.class,
            AuthzConfig.class, EnrolmentConfig.class, AdminConfig.class);

    private RenderedPod() {
    }

    /** The rendered application.properties as a sorted map. */
    public static Map<String, String> properties(String text) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(text));
        Map<String, String> map = new TreeMap<>();
        p.forEach((k, v) -> map.put((String) k, (String) v));
        return map;
    }

    /** The isthmus.* properties as the gateway's config mappings see them (unknown keys fail). */
    public static SmallRyeConfig gatewayConfig(Map<String, String> props) {
        Map<String, String> isthmus = new HashMap<>();
        props.forEach((k, v) -> {
            if (k.startsWith("isthmus.")) {
                isthmus.put(k, v);
            }
        });
        // Quarkus' own Duration and MemorySize converters, so "5m" and "100M" mean what they mean in the running
        // gateway. POD_IP is what the StatefulSet's downward API sets.
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder().addDefaultInterceptors().withValidateUnknown(true)
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200,
                        new io.quarkus.runtime.configuration.MemorySizeConverter())
                .withSources(new PropertiesConfigSource(isthmus, "terraform", 500))
                .withSources(new PropertiesConfigSource(Map.of("POD_IP", "10.4.0.7"), "downward-api", 100));
        MAPPINGS.forEach(builder::withMapping);
        return builder.build();
    }

    /** The properties with every path under the pod's mounts moved under {@code fakeRoot}. */
    public static Map<String, String> relocate(Map<String, String> properties, Path fakeRoot) {
        Map<String, String> relocated = new HashMap<>();
        properties.forEach((k, v) -> relocated.put(k, v.startsWith("/etc/isthmus/") || v.startsWith("/var/lib/isthmus")
                ? fakeRoot + v : v));
        return relocated;
    }

    /**
     * Writes the files of the pod's "ca" volume (a projected volume) as kubelet would: every key of a source Secret
     * without items, or each item's key at its path. {@code secrets} holds the keys of every Secret by "name/key"
     * or, for the module's own Secret, by key. Returns the directory the container sees at the volume's mount path.
     */
    public static Path materialiseCaVolume(JsonNode statefulSet, Path fakeRoot, Map<String, String> secrets)
            throws IOException {
        JsonNode podSpec = statefulSet.at("/spec/template/spec");
        String mountPath = null;
        for (JsonNode m : podSpec.at("/containers/0/volumeMounts")) {
            if (m.get("name").asText().equals("ca")) {
                mountPath = m.get("mountPath").asText();
            }
        }
        assertThat(mountPath).isNotNull();
        Path dir = Files.createDirectories(fakeRoot.resolve(mountPath.substring(1)));
        JsonNode volume = null;
        for (JsonNode v : podSpec.get("volumes")) {
            if (v.get("name").asText().equals("ca")) {
                volume = v;
            }
        }
        assertThat(volume).isNotNull();
        for (JsonNode source : volume.at("/projected/sources")) {
            String name = source.at("/secret/name").asText();
            if (source.at("/secret").has("items")) {
                for (JsonNode item : source.at("/secret/items")) {
                    String value = secrets.get(name + "/" + item.get("key").asText());
                    assertThat(value).as("Secret %s has key %s", name, item.get("key").asText()).isNotNull();
                    Files.writeString(dir.resolve(item.get("path").asText()), value);
                }
            } else {
                secrets.forEach((k, v) -> {
                    if (!k.contains("/")) {
                        try {
                            Files.writeString(dir.resolve(k), v);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                });
            }
        }
        return dir;
    }
}
