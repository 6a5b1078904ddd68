package io.isthmus.packaging.release;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.build.BuildInfo;
import io.isthmus.integration.support.Repo;
import io.isthmus.packaging.Commands;

/**
 * The release the build assembles (what bin/release publishes): every artifact checks against SHA256SUMS with
 * {@code sha256sum -c}, the tarball holds the app, the CLI, the agent and the Terraform modules with checksums of
 * every file, its binaries report the build, and the CycloneDX SBOM lists every library that ships.
 */
class ReleaseIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path scratch;

    private static Path release;
    private static Path unpacked;
    private static String version;

    @BeforeAll
    static void unpack() throws Exception {
        release = Path.of(System.getProperty("isthmus.release"));
        version = System.getProperty("isthmus.version");
        Commands.run("tar", "-xzf", release.resolve("isthmus-" + version + ".tar.gz").toString(), "-C",
                scratch.toString()).ok();
        unpacked = scratch.resolve("isthmus-" + version);
    }

    @Test
    void everyArtifactMatchesTheChecksumsFile() throws Exception {
        String check = Commands.run(release, Map.of(), "sha256sum", "--strict", "-c", "SHA256SUMS").ok();
        assertThat(check.lines().toList()).containsExactlyInAnyOrder("isthmus-" + version + ".tar.gz: OK",
                "isthmus-" + version + ".cdx.json: OK", "isthmus-gateway-image-" + version + ".oci.tar: OK",
                "isthmus-gateway_" + debianVersion() + "_amd64.deb: OK", "isthmus-agent_" + debianVersion() + "_amd64.deb: OK");
    }

    private static String debianVersion() {
        return version.replace("-SNAPSHOT", "~SNAPSHOT");
    }

    @Test
    void theTarballHoldsTheAppTheCliTheAgentAndTheTerraformModulesEachFileChecksummed() throws Exception {
        for (String path : List.of("bin/isthmus", "bin/isthmus-agent", "bin/isthmus-gateway", "gateway/quarkus-run.jar",
                "agent/isthmus-agent.jar", "sbom/isthmus.cdx.json")) {
            assertThat(unpacked.resolve(path)).as(path).isRegularFile();
        }
        assertThat(unpacked.resolve("bin/isthmus")).isExecutable();
        // The Terraform modules and example, file for file as in the repository.
        assertThat(files(unpacked.resolve("terraform"))).isEqualTo(trackedTerraform());
        String check = Commands.run(unpacked, Map.of(), "sha256sum", "--strict", "-c", "SHA256SUMS").ok();
        try (Stream<Path> all = Files.walk(unpacked)) {
            long shipped = all.filter(Files::isRegularFile).filter(p -> !p.endsWith("SHA256SUMS")).count();
            assertThat(check.lines().filter(l -> l.endsWith(": OK")).count()).as("files with a checksum")
                    .isEqualTo(shipped).isGreaterThan(200);
        }
    }

    private static Set<String> files(Path dir) throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString())
                    .collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }

    private static Set<String> trackedTerraform() throws Exception {
        String tracked = Commands.run(Repo.root().resolve("terraform"), Map.of(), "git", "ls-files", "modules", "examples")
                .ok();
        return new TreeSet<>(tracked.lines().toList());
    }

    @Test
    void theReleasedBinariesPrintTheBuildTheyAre() throws Exception {
        Map<String, String> env = Map.of("JAVA_HOME", System.getProperty("java.home"));
        String build = BuildInfo.current().describe();
        assertThat(Commands.run(null, env, unpacked.resolve("bin/isthmus").toString(), "--version").ok().strip())
                .isEqualTo("isthmus " + build).startsWith("isthmus " + version + " (commit ");
        assertThat(Commands.run(null, env, unpacked.resolve("bin/isthmus-agent").toString(), "--version").ok().strip())
                .isEqualTo("isthmus-agent " + build);
    }

    @Test
    void theSbomIsCycloneDxAndListsEveryLibraryThatShips() throws Exception {
        JsonNode bom = JSON.readTree(unpacked.resolve("sbom/isthmus.cdx.json").toFile());
        assertThat(bom.get("bomFormat").asText()).isEqualTo("CycloneDX");
        assertThat(bom.get("specVersion").asText()).startsWith("1.");
        assertThat(bom.at("/metadata/component/version").asText()).isEqualTo(version);
        Set<String> purls = new HashSet<>();
        bom.get("components").forEach(c -> purls.add(c.get("purl").asText().replaceFirst("\\?.*$", "")));
        // Quarkus' fast-jar names each library <groupId>.<artifactId>-<version>.jar.
        Set<String> shipped = new TreeSet<>();
        try (Stream<Path> jars = Files.list(unpacked.resolve("gateway/lib/main"))) {
            jars.map(p -> p.getFileName().toString()).forEach(shipped::add);
        }
        Set<String> missing = new TreeSet<>();
        for (String jar : shipped) {
            boolean listed = purls.stream().anyMatch(purl -> {
                String[] gav = purl.substring("pkg:maven/".length()).split("[/@]");
                return jar.equals(gav[0] + "." + gav[1] + "-" + gav[2] + ".jar")
                        || jar.startsWith(gav[0] + "." + gav[1] + "-" + gav[2] + "-");
            });
            if (!listed) {
                missing.add(jar);
            }
        }
        assertThat(missing).as("gateway libraries the SBOM does not list (of %s shipped)", shipped.size()).isEmpty();
        assertThat(purls).contains("pkg:maven/io.isthmus/vm-agent@" + version, "pkg:maven/io.isthmus/federation-gateway@" + version)
                .anyMatch(p -> p.startsWith("pkg:maven/io.grpc/grpc-netty-shaded@"));
        assertThat(purls).as("build tools and test libraries do not ship").noneMatch(p -> p.contains("/jib-core@")
                || p.contains("/junit-jupiter") || p.contains("/assertj-core@"));
    }
}
