package io.isthmus.packaging.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.packaging.Commands;

/**
 * What a kubelet and its container runtime make of the StatefulSet's pod template, done with runc on an unpacked
 * image: the container's user, groups, environment, read-only root, dropped capabilities, no privilege escalation,
 * memory limit, and its volumes (Secrets and the ConfigMap as read-only files with the pod's fsGroup, emptyDirs, and
 * each volume claim template as an empty directory of the fsGroup, as a freshly provisioned volume is).
 * Everything comes from the rendered StatefulSet; the harness adds only what a cluster would (the pod's network
 * namespace and IP, the API server's address, a resolv.conf).
 */
final class PodRuntime {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern QUANTITY = Pattern.compile("(\\d+)(Ki|Mi|Gi)?");

    private final JsonNode podSpec;
    private final JsonNode container;
    private final Map<String, JsonNode> claimTemplates = new LinkedHashMap<>();
    private final Map<String, JsonNode> objectsByName = new LinkedHashMap<>();

    /**
     * {@code objects} and {@code secrets} are the module's outputs of those names: every rendered object by role (a
     * role holds one object or several), found here by kind and name.
     */
    PodRuntime(JsonNode statefulSet, JsonNode objects, JsonNode secrets) {
        this.podSpec = statefulSet.at("/spec/template/spec");
        this.container = podSpec.at("/containers/0");
        statefulSet.at("/spec/volumeClaimTemplates").forEach(t -> claimTemplates.put(t.at("/metadata/name").asText(), t));
        index(objects);
        index(secrets);
    }

    private void index(JsonNode node) {
        if (node.has("kind") && node.has("metadata")) {
            objectsByName.put(node.at("/kind").asText() + "/" + node.at("/metadata/name").asText(), node);
        } else {
            node.forEach(this::index);
        }
    }

    /** The mount paths of the container's writable volumes: emptyDirs and volume claim templates. */
    Set<String> writableMounts() {
        Map<String, JsonNode> volumes = new LinkedHashMap<>();
        podSpec.path("volumes").forEach(v -> volumes.put(v.get("name").asText(), v));
        Set<String> writable = new HashSet<>();
        container.get("volumeMounts").forEach(m -> {
            String name = m.get("name").asText();
            if (claimTemplates.containsKey(name) || volumes.get(name).has("emptyDir")) {
                writable.add(m.get("mountPath").asText());
            }
        });
        return writable;
    }

    /** The name of the volume the container mounts at {@code mountPath}. */
    String volumeMountedAt(String mountPath) {
        for (JsonNode m : container.get("volumeMounts")) {
            if (m.get("mountPath").asText().equals(mountPath)) {
                return m.get("name").asText();
            }
        }
        throw new AssertionError("the container mounts nothing at " + mountPath);
    }

    JsonNode container() {
        return container;
    }

    /** The container port a probe (or a Service's targetPort) names, as Kubernetes resolves a named port. */
    int containerPort(JsonNode port) {
        if (port.isInt()) {
            return port.asInt();
        }
        for (JsonNode p : container.get("ports")) {
            if (p.get("name").asText().equals(port.asText())) {
                return p.get("containerPort").asInt();
            }
        }
        throw new AssertionError("the container has no port named '" + port.asText() + "' (ports: "
                + container.get("ports") + ")");
    }

    long memoryLimitBytes() {
        String q = container.at("/resources/limits/memory").asText();
        Matcher m = QUANTITY.matcher(q);
        if (!m.matches()) {
            throw new AssertionError("unexpected memory quantity '" + q + "'");
        }
        long unit = switch (m.group(2) == null ? "" : m.group(2)) {
            case "Ki" -> 1L << 10;
            case "Mi" -> 1L << 20;
            case "Gi" -> 1L << 30;
            default -> 1L;
        };
        return Long.parseLong(m.group(1)) * unit;
    }

    /**
     * Rewrites the runtime spec umoci made from the image config in {@code bundle} so runc runs the container as
     * the pod would. {@code fields} answers the Downward API ({@code metadata.name}, {@code status.podIP}),
     * {@code clusterEnv} is what the cluster adds, {@code volumes} is where the volumes' contents are put.
     */
    void apply(Path bundle, Path volumes, Map<String, String> fields, Map<String, String> clusterEnv, String netns)
            throws IOException, InterruptedException {
        ObjectNode spec = (ObjectNode) JSON.readTree(bundle.resolve("config.json").toFile());
        ObjectNode process = (ObjectNode) spec.get("process");
        process.put("terminal", false);
        JsonNode pod = podSpec.get("securityContext");
        JsonNode sc = container.get("securityContext");
        ObjectNode user = (ObjectNode) process.get("user");
        if (pod.has("runAsUser")) {
            user.put("uid", pod.get("runAsUser").asInt());
        }
        if (pod.has("runAsGroup")) {
            user.put("gid", pod.get("runAsGroup").asInt());
        }
        if (pod.has("fsGroup")) {
            user.putArray("additionalGids").add(pod.get("fsGroup").asInt());
        }
        process.put("noNewPrivileges", !sc.path("allowPrivilegeEscalation").asBoolean(true));
        if (sc.at("/capabilities/drop").toString().contains("\"ALL\"")) {
            ObjectNode caps = process.putObject("capabilities");
            for (String set : List.of("bounding", "effective", "inheritable", "permitted", "ambient")) {
                caps.putArray(set);
            }
        }
        ((ObjectNode) spec.get("root")).put("readonly", sc.path("readOnlyRootFilesystem").asBoolean(false));
        spec.put("hostname", fields.get("metadata.name"));

        ArrayNode env = (ArrayNode) process.get("env");
        for (JsonNode e : container.get("env")) {
            String value = e.has("value") ? e.get("value").asText()
                    : fields.get(e.at("/valueFrom/fieldRef/fieldPath").asText());
            if (value == null) {
                throw new AssertionError("no Downward API value for " + e);
            }
            env.add(e.get("name").asText() + "=" + value);
        }
        clusterEnv.forEach((k, v) -> env.add(k + "=" + v));

        ArrayNode mounts = (ArrayNode) spec.get("mounts");
        Map<String, JsonNode> podVolumes = new LinkedHashMap<>();
        podSpec.get("volumes").forEach(v -> podVolumes.put(v.get("name").asText(), v));
        for (JsonNode m : container.get("volumeMounts")) {
            JsonNode volume = podVolumes.get(m.get("name").asText());
            if (volume == null && claimTemplates.containsKey(m.get("name").asText())) {
                volume = JSON.createObjectNode().set("persistentVolumeClaim", claimTemplates.get(m.get("name").asText()));
            }
            Path source = volumes.resolve(m.get("name").asText());
            materialise(volume, source, pod.path("fsGroup").asInt(0));
            ObjectNode mount = mounts.addObject().put("destination", m.get("mountPath").asText()).put("type", "bind")
                    .put("source", source.toString());
            mount.putArray("options").add("rbind").add(m.path("readOnly").asBoolean(false) ? "ro" : "rw")
                    .add("nosuid").add("nodev");
        }
        // The kubelet mounts the cluster's resolv.conf; nothing answers DNS here, so lookups fail fast.
        Path resolv = volumes.resolve("resolv.conf");
        Files.writeString(resolv, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
        mounts.addObject().put("destination", "/etc/resolv.conf").put("type", "bind").put("source", resolv.toString())
                .putArray("options").add("rbind").add("ro");

        ObjectNode linux = (ObjectNode) spec.get("linux");
        for (JsonNode ns : linux.get("namespaces")) {
            if (ns.get("type").asText().equals("network")) {
                ((ObjectNode) ns).put("path", "/var/run/netns/" + netns);
            }
        }
        linux.with("resources").putObject("memory").put("limit", memoryLimitBytes());
        Files.writeString(bundle.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(spec));
    }

    /** A volume's content as the kubelet lays it out: Secret files with defaultMode plus group read for fsGroup. */
    private void materialise(JsonNode volume, Path dir, int fsGroup) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        if (volume.has("emptyDir")) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
            return;
        }
        if (volume.has("persistentVolumeClaim")) {
            // A new volume with fsGroup: owned by the group, group-writable, setgid (what the kubelet makes of it).
            Commands.run("chown", "0:" + fsGroup, dir.toString()).ok();
            Commands.run("chmod", "2775", dir.toString()).ok();
            return;
        }
        Map<String, String> files = new LinkedHashMap<>();
        String mode;
        if (volume.has("secret")) {
            secretFiles(object("Secret/" + volume.at("/secret/secretName").asText()), volume.at("/secret/items"), files);
            mode = Integer.toOctalString(volume.at("/secret/defaultMode").asInt(0644) | (fsGroup > 0 ? 0440 : 0));
        } else if (volume.has("projected")) {
            for (JsonNode source : volume.at("/projected/sources")) {
                if (!source.has("secret")) {
                    throw new AssertionError("projected source type not handled by the test: " + source);
                }
                secretFiles(object("Secret/" + source.at("/secret/name").asText()), source.at("/secret/items"), files);
            }
            mode = Integer.toOctalString(volume.at("/projected/defaultMode").asInt(0644) | (fsGroup > 0 ? 0440 : 0));
        } else if (volume.has("configMap")) {
            JsonNode map = object("ConfigMap/" + volume.at("/configMap/name").asText());
            map.path("data").fields().forEachRemaining(f -> files.put(f.getKey(), f.getValue().asText()));
            mode = "644";
        } else {
            throw new AssertionError("volume type not handled by the test: " + volume);
        }
        List<String> chown = new ArrayList<>(List.of("chown", "-R", "0:" + fsGroup, dir.toString()));
        for (var f : files.entrySet()) {
            Path file = dir.resolve(f.getKey());
            Files.writeString(file, f.getValue());
            Commands.run("chmod", mode, file.toString()).ok();
        }
        Commands.run(chown.toArray(String[]::new)).ok();
    }

    /** A Secret's keys as files (base64 {@code data}), all of them or only the {@code items} listed (key to path). */
    private static void secretFiles(JsonNode secret, JsonNode items, Map<String, String> files) {
        Map<String, String> paths = new LinkedHashMap<>();
        if (items.isArray() && !items.isEmpty()) {
            items.forEach(i -> paths.put(i.get("key").asText(), i.get("path").asText()));
        }
        secret.path("data").fields().forEachRemaining(f -> {
            if (paths.isEmpty() || paths.containsKey(f.getKey())) {
                files.put(paths.getOrDefault(f.getKey(), f.getKey()),
                        new String(Base64.getDecoder().decode(f.getValue().asText()), StandardCharsets.UTF_8));
            }
        });
    }

    private JsonNode object(String kindAndName) {
        JsonNode o = objectsByName.get(kindAndName);
        if (o == null) {
            throw new AssertionError("the StatefulSet mounts " + kindAndName + ", which the module does not render");
        }
        return o;
    }
}
