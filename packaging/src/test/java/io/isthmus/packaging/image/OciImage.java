package io.isthmus.packaging.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.packaging.Commands;

/**
 * An OCI image as the build wrote it (an OCI image-layout tarball), read the way a runtime reads it: index, manifest,
 * config. Only what the tests compare against the StatefulSet is exposed.
 */
record OciImage(Path layout, String reference, JsonNode config) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static OciImage open(Path tarball, Path into) throws IOException, InterruptedException {
        Files.createDirectories(into);
        Commands.run("tar", "-xf", tarball.toString(), "-C", into.toString()).ok();
        JsonNode index = JSON.readTree(into.resolve("index.json").toFile());
        if (index.get("manifests").size() != 1) {
            throw new AssertionError("expected one image in " + tarball + ", found " + index.get("manifests"));
        }
        JsonNode descriptor = index.get("manifests").get(0);
        JsonNode manifest = JSON.readTree(blob(into, descriptor.get("digest").asText()).toFile());
        JsonNode config = JSON.readTree(blob(into, manifest.at("/config/digest").asText()).toFile());
        return new OciImage(into, descriptor.at("/annotations/org.opencontainers.image.ref.name").asText(), config);
    }

    private static Path blob(Path layout, String digest) {
        String[] algAndHex = digest.split(":", 2);
        return layout.resolve("blobs").resolve(algAndHex[0]).resolve(algAndHex[1]);
    }

    /** The {@code User} field, e.g. {@code 185:185}. */
    String user() {
        return config.at("/config/User").asText();
    }

    int uid() {
        return Integer.parseInt(user().split(":")[0]);
    }

    int gid() {
        String[] parts = user().split(":");
        return parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
    }

    Set<Integer> exposedTcpPorts() {
        Set<Integer> ports = new TreeSet<>();
        config.at("/config/ExposedPorts").fieldNames().forEachRemaining(p -> {
            if (!p.endsWith("/tcp")) {
                throw new AssertionError("unexpected exposed port " + p);
            }
            ports.add(Integer.parseInt(p.substring(0, p.length() - "/tcp".length())));
        });
        return ports;
    }

    Set<String> volumes() {
        Set<String> volumes = new TreeSet<>();
        config.at("/config/Volumes").fieldNames().forEachRemaining(volumes::add);
        return volumes;
    }

    List<String> entrypoint() {
        List<String> args = new ArrayList<>();
        config.at("/config/Entrypoint").forEach(a -> args.add(a.asText()));
        return args;
    }

    /** {@code umoci unpack}: the image's root filesystem and an OCI runtime spec (config.json) made from its config. */
    Path unpack(Path bundle) throws IOException, InterruptedException {
        Commands.run("umoci", "unpack", "--image", layout + ":" + reference, bundle.toString()).ok();
        return bundle;
    }
}
