package io.isthmus.packaging.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FileEntry;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.api.buildplan.Port;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Builds the gateway's container image with Jib (no Docker daemon, no Dockerfile): the packaged Quarkus application
 * on top of a base that provides a Java runtime at {@value #JAVA}. The base is a {@code tar://} file (the offline
 * base, scripts/base-image.sh) or a registry image; the result is an OCI image tarball or a push to a registry.
 * What the image promises to the StatefulSet (user, ports) comes from the packaging POM, and the image test holds it
 * to the Terraform module's StatefulSet.
 */
@Command(name = "gateway-image", mixinStandardHelpOptions = true)
public final class GatewayImage implements Callable<Integer> {
    /** JAVA_HOME of the documented base (eclipse-temurin:*-jre) and of the offline base. */
    static final String JAVA = "/opt/java/openjdk";
    static final String APP = "/opt/isthmus";
    static final String DATA = "/var/lib/isthmus";
    /** Starts the JVM from its start-up cache in {@link #DATA} (src/main/sh; the systemd unit starts through it too). */
    static final String LAUNCHER = APP + "/bin/with-jvm-cache";

    @Option(names = "--base", required = true, description = "tar://<path> or a registry image with Java at " + JAVA)
    String base;

    @Option(names = "--app", required = true, description = "The gateway's target/quarkus-app directory")
    Path app;

    @Option(names = "--to", required = true, description = "tar://<path> (an OCI image tarball) or a registry image to push")
    String to;

    @Option(names = "--name", required = true, description = "The image's name inside a tarball")
    String name;

    @Option(names = "--user", required = true, description = "uid:gid the gateway runs as (non-root)")
    String user;

    @Option(names = "--ports", required = true, split = ",", description = "TCP ports the gateway listens on")
    List<Integer> ports;

    @Option(names = "--version", required = true, description = "The build's version (label)")
    String version;

    @Option(names = "--launcher", required = true, description = "The with-jvm-cache script (POSIX sh)")
    Path launcher;

    @Option(names = "--cache", required = true, description = "Jib's layer caches (kept out of the user's home)")
    Path cache;

    public static void main(String[] args) {
        System.exit(new CommandLine(new GatewayImage()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (user.startsWith("0") || !user.matches("[1-9][0-9]*:[0-9]+")) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--user '" + user
                    + "': expected a numeric non-root uid:gid (Kubernetes runAsNonRoot can only verify a numeric user)");
        }
        JibContainerBuilder image = from(base).setFormat(ImageFormat.OCI)
                .setFileEntriesLayers(layers())
                .setWorkingDirectory(AbsoluteUnixPath.get(APP))
                .setEntrypoint(entrypoint())
                .setEnvironment(Map.of("JAVA_HOME", JAVA, "LANG", "C.UTF-8"))
                .setUser(user)
                // The only writable places under a read-only root; Kubernetes mounts emptyDirs there, Docker volumes.
                .addVolume(AbsoluteUnixPath.get(DATA)).addVolume(AbsoluteUnixPath.get("/tmp"))
                .addLabel("org.opencontainers.image.title", "Isthmus federation gateway")
                .addLabel("org.opencontainers.image.version", version);
        for (int port : ports) {
            image.addExposedPort(Port.tcp(port));
        }
        JibContainer built = image.containerize(containerizer());
        System.out.println("gateway-image: " + to + " " + built.getDigest());
        return 0;
    }

    /**
     * The JVM takes 75% of the container's memory limit as heap (it reads the cgroup limit itself) and G1 even
     * when the limit is under 1792 MB or there is one CPU, where its ergonomics would pick the stop-the-world
     * Serial collector; it exits on OutOfMemoryError so Kubernetes restarts it instead of leaving it half-alive.
     * JAVA_TOOL_OPTIONS adds options without rebuilding.
     *
     * <p>The JVM starts through the systemd unit's launcher ({@link #LAUNCHER}): from the JDK's AOT cache on a JDK
     * 25+ base (a dynamic AppCDS archive on 21-24) kept in the state directory. A container's first start trains it
     * and its clean stop writes it; later starts of the container (and of the pod, with a persistent volume) map it.
     * Not baked into the image: a cache maps only on the exact JVM build that wrote it, and a registry base's JVM is
     * not run at build time. A cache of another image, JVM or JAVA_TOOL_OPTIONS is replaced, never fatal. Full tiered
     * JIT (C2): a data-plane process lives long, and the cache, not a weaker compiler, wins the start.
     */
    static List<String> entrypoint() {
        return List.of(LAUNCHER, DATA, JAVA + "/bin/java", "-XX:MaxRAMPercentage=75.0", "-XX:+UseG1GC",
                "-XX:+ExitOnOutOfMemoryError", "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                "--enable-native-access=ALL-UNNAMED", "-jar", APP + "/quarkus-run.jar");
    }

    /** Slowest-changing first, so a rebuild only replaces the layers whose files changed. */
    private List<FileEntriesLayer> layers() throws IOException {
        FileEntriesLayer.Builder libraries = FileEntriesLayer.builder().setName("libraries");
        FileEntriesLayer.Builder isthmus = FileEntriesLayer.builder().setName("isthmus-libraries");
        libraries.addEntryRecursive(app.resolve("lib/boot"), AbsoluteUnixPath.get(APP + "/lib/boot"));
        try (Stream<Path> jars = Files.list(app.resolve("lib/main"))) {
            for (Path jar : jars.sorted().toList()) {
                AbsoluteUnixPath target = AbsoluteUnixPath.get(APP + "/lib/main/" + jar.getFileName());
                (jar.getFileName().toString().startsWith("io.isthmus.") ? isthmus : libraries).addEntry(jar, target);
            }
        }
        FileEntriesLayer.Builder application = FileEntriesLayer.builder().setName("application")
                .addEntry(app.resolve("quarkus-run.jar"), AbsoluteUnixPath.get(APP + "/quarkus-run.jar"));
        application.addEntryRecursive(app.resolve("app"), AbsoluteUnixPath.get(APP + "/app"));
        application.addEntryRecursive(app.resolve("quarkus"), AbsoluteUnixPath.get(APP + "/quarkus"));
        application.addEntry(new FileEntry(launcher, AbsoluteUnixPath.get(LAUNCHER), FilePermissions.fromOctalString("755"),
                FileEntriesLayer.DEFAULT_MODIFICATION_TIME));
        // The state directory belongs to the gateway's user, so a Docker volume created from it is writable too.
        Path empty = Files.createTempDirectory("isthmus-image");
        empty.toFile().deleteOnExit();
        FileEntriesLayer.Builder state = FileEntriesLayer.builder().setName("state-directory")
                .addEntry(new FileEntry(empty, AbsoluteUnixPath.get(DATA), FilePermissions.fromOctalString("750"),
                        FileEntriesLayer.DEFAULT_MODIFICATION_TIME, user));
        List<FileEntriesLayer> layers = new ArrayList<>();
        for (FileEntriesLayer.Builder b : List.of(libraries, isthmus, application, state)) {
            layers.add(b.build());
        }
        return layers;
    }

    private JibContainerBuilder from(String reference) throws Exception {
        if (reference.startsWith("tar://")) {
            return Jib.from(TarImage.at(Path.of(reference.substring("tar://".length()))));
        }
        return Jib.from(registry(reference));
    }

    private Containerizer containerizer() throws Exception {
        Containerizer c;
        if (to.startsWith("tar://")) {
            Path tar = Path.of(to.substring("tar://".length()));
            Files.createDirectories(tar.toAbsolutePath().getParent());
            c = Containerizer.to(TarImage.at(tar).named(name));
        } else {
            c = Containerizer.to(registry(to));
        }
        return c.setToolName("isthmus-packaging")
                .setBaseImageLayersCache(cache.resolve("base")).setApplicationLayersCache(cache.resolve("application"))
                .addEventHandler(LogEvent.class, e -> {
                    if (e.getLevel() == LogEvent.Level.ERROR || e.getLevel() == LogEvent.Level.WARN) {
                        System.err.println("gateway-image: " + e.getMessage());
                    }
                });
    }

    /** A registry image with the credentials {@code docker login} / {@code podman login} left in the Docker config. */
    private static RegistryImage registry(String reference) throws Exception {
        ImageReference ref = ImageReference.parse(reference);
        return RegistryImage.named(ref).addCredentialRetriever(
                CredentialRetrieverFactory.forImage(ref, e -> { }).dockerConfig());
    }
}
