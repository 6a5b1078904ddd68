package io.isthmus.packaging.deb;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.build.BuildInfo;
import io.isthmus.packaging.Commands;
import io.isthmus.packaging.launcher.JvmCacheProbe;

/**
 * The isthmus-gateway and isthmus-agent packages, installed into this machine's real root filesystem with dpkg (as
 * root), through a whole life cycle: install, unit verification, --version, an upgrade that keeps configuration and
 * state, removal, purge that leaves nothing behind. It refuses to run where either package, its user or one of its
 * directories already exists (it would clobber a real installation), and purges what it installed even when a step
 * fails. Needs root; there is no systemd as PID 1 here, so no unit is started by systemd (see {@link
 * #removalStopsTheServicesAndKeepsConfigurationAndState()}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DebianPackagesIT {
    /** Everything either package creates; none of it may exist before, none after purge. */
    private static final List<String> FOOTPRINT = List.of("/usr/lib/isthmus-gateway", "/usr/lib/isthmus-agent",
            "/usr/bin/isthmus", "/usr/bin/isthmus-agent", "/etc/isthmus", "/etc/isthmus-agent", "/etc/default/isthmus-gateway",
            "/var/lib/isthmus", "/var/lib/isthmus-agent", "/run/isthmus-agent",
            "/lib/systemd/system/isthmus-gateway.service", "/lib/systemd/system/isthmus-agent.service",
            "/usr/lib/sysusers.d/isthmus-gateway.conf", "/usr/lib/sysusers.d/isthmus-agent.conf",
            "/usr/lib/tmpfiles.d/isthmus-gateway.conf", "/usr/lib/tmpfiles.d/isthmus-agent.conf",
            "/etc/systemd/system/multi-user.target.wants/isthmus-gateway.service",
            "/etc/systemd/system/multi-user.target.wants/isthmus-agent.service",
            "/usr/share/doc/isthmus-gateway", "/usr/share/doc/isthmus-agent");
    private static final List<String> PACKAGES = List.of("isthmus-gateway", "isthmus-agent");
    private static final String EDITED = "# edited by the operator (DebianPackagesIT)\n";
    private static final List<String> ACCOUNTS = List.of("passwd isthmus", "passwd isthmus-agent", "group isthmus",
            "group isthmus-agent", "group isthmus-workload");

    @TempDir
    static Path scratch;

    /** Set once this run has touched the machine: from then on everything in FOOTPRINT and ACCOUNTS is ours. */
    private static boolean installedByUs;

    @BeforeAll
    static void refuseToClobberARealInstallation() throws Exception {
        Assumptions.assumeTrue(Commands.isRoot(), "dpkg -i needs root (bin/test runs as root in CI)");
        for (String tool : List.of("dpkg", "dpkg-deb", "systemd-analyze", "systemd-sysusers", "systemd-tmpfiles")) {
            assertThat(Commands.onPath(tool)).as("%s must be installed (.ci/run installs it)", tool).isTrue();
        }
        List<String> found = new ArrayList<>();
        for (String p : PACKAGES) {
            if (Commands.run("dpkg-query", "-W", "-f=${db:Status-Status}", p).output().strip().matches("installed|config-files|half.*|unpacked|triggers.*")) {
                found.add("package " + p);
            }
        }
        FOOTPRINT.stream().filter(p -> Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS)).forEach(found::add);
        for (String account : ACCOUNTS) {
            String[] db = account.split(" ");
            if (Commands.run("getent", db[0], db[1]).exit() == 0) {
                found.add(account);
            }
        }
        if (!found.isEmpty()) {
            throw new AssertionError("refusing to run: this machine already has " + found + ". These tests install and"
                    + " purge the real packages; run them where Isthmus is not installed (a leftover of an interrupted"
                    + " run goes with: dpkg --purge isthmus-gateway isthmus-agent).");
        }
    }

    private static Path deb(String pkg) throws IOException {
        try (Stream<Path> debs = Files.list(Path.of(System.getProperty("isthmus.debs")))) {
            return debs.filter(d -> d.getFileName().toString().startsWith(pkg + "_")).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + pkg + " .deb in " + System.getProperty("isthmus.debs")));
        }
    }

    private static String dpkg(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dpkg"));
        cmd.addAll(List.of(args));
        return Commands.run(cmd.toArray(String[]::new)).ok();
    }

    private static String mode(String path) throws IOException {
        PosixFileAttributes a = Files.readAttributes(Path.of(path), PosixFileAttributes.class);
        return a.owner().getName() + ":" + a.group().getName() + " " + PosixFilePermissions.toString(a.permissions());
    }

    @Test
    @Order(1)
    void installCreatesTheUsersAndDirectoriesWithTheirOwnersAndModes() throws Exception {
        installedByUs = true;
        dpkg("-i", deb("isthmus-gateway").toString(), deb("isthmus-agent").toString());
        assertThat(Commands.run("getent", "passwd", "isthmus").ok()).contains(":/var/lib/isthmus:/usr/sbin/nologin");
        assertThat(Commands.run("getent", "passwd", "isthmus-agent").ok()).contains(":/usr/sbin/nologin");
        assertThat(mode("/var/lib/isthmus")).isEqualTo("isthmus:isthmus rwxr-x---");
        assertThat(mode("/etc/isthmus/ca")).isEqualTo("root:isthmus rwxr-x---");
        assertThat(mode("/var/lib/isthmus-agent")).isEqualTo("isthmus-agent:isthmus-workload rwx------");
        // The Workload API socket's directory: the agent and the workloads in group isthmus-workload, nobody else.
        assertThat(mode("/run/isthmus-agent")).isEqualTo("isthmus-agent:isthmus-workload rwxr-x---");
        assertThat(mode("/usr/lib/isthmus-gateway/jre/bin/java")).isEqualTo("root:root rwxr-xr-x");
        assertThat(mode("/usr/lib/isthmus-agent/jre/lib/jspawnhelper")).isEqualTo("root:root rwxr-xr-x");
        // Enabled at first install (systemd starts them at boot once configured).
        assertThat(Path.of("/etc/systemd/system/multi-user.target.wants/isthmus-gateway.service")).isSymbolicLink();
        assertThat(Path.of("/etc/systemd/system/multi-user.target.wants/isthmus-agent.service")).isSymbolicLink();
    }

    @Test
    @Order(2)
    void eachUnitPassesSystemdAnalyzeVerify() throws Exception {
        for (String unit : List.of("isthmus-gateway.service", "isthmus-agent.service")) {
            Commands.Result verify = Commands.run("systemd-analyze", "verify", "/lib/systemd/system/" + unit);
            assertThat(verify.exit()).as("systemd-analyze verify %s:%n%s", unit, verify.output()).isZero();
            assertThat(verify.output()).as("systemd-analyze verify %s warns", unit).doesNotContain(unit);
        }
    }

    @Test
    @Order(3)
    void theInstalledBinariesPrintTheirVersionAndCommit() throws Exception {
        BuildInfo build = BuildInfo.current();
        assertThat(Commands.run("/usr/bin/isthmus", "--version").ok().strip()).isEqualTo("isthmus " + build.describe());
        assertThat(Commands.run("/usr/bin/isthmus-agent", "--version").ok().strip())
                .isEqualTo("isthmus-agent " + build.describe());
    }

    /**
     * The unit's launcher as the unit runs it: installed, as user isthmus, with the installed runtime and the unit's
     * JVM options, its cache in /var/lib/isthmus, under the unit's view of the file system (ProtectSystem=strict with
     * ReadWritePaths=/var/lib/isthmus, PrivateTmp: here a mount namespace with a read-only root, the state directory
     * writable and a private /tmp). The application is a probe that reports its own memory maps: the gateway itself
     * would need a cluster CA here, and GatewayImageIT runs it through the same launcher.
     */
    @Test
    @Order(4)
    void theInstalledLauncherTrainsThenMapsTheAotCacheAsTheServiceUserAndRetrainsForANewApplication() throws Exception {
        String launcher = "/usr/lib/isthmus-gateway/bin/with-jvm-cache";
        assertThat(Files.readString(Path.of("/lib/systemd/system/isthmus-gateway.service")))
                .contains("ExecStart=" + launcher + " /var/lib/isthmus /usr/lib/isthmus-gateway/jre/bin/java $JAVA_OPTS ");
        assertThat(mode(launcher)).isEqualTo("root:root rwxr-xr-x");
        List<String> asTheUnit = List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount --bind /var/lib/isthmus /var/lib/isthmus && mount -o remount,bind,ro / && mount -t tmpfs tmpfs /tmp"
                        + " && exec setpriv --reuid=isthmus --regid=isthmus --init-groups \"$@\"", "sh");
        Path state = Path.of("/var/lib/isthmus");
        Path java = Path.of("/usr/lib/isthmus-gateway/jre/bin/java");
        List<String> options = List.of("-XX:MaxRAMPercentage=50.0", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
                "--enable-native-access=ALL-UNNAMED");
        Path jar = JvmCacheProbe.writeJar(state.resolve("probe-app/probe.jar"), "1");
        try {
            // The training run: the launcher ends it after 1 s with the runtime's jcmd (attaching as the same user
            // through the private /tmp), and the JVM writes the cache while the probe still runs.
            Commands.Result first = JvmCacheProbe.start(asTheUnit, Map.of("ISTHMUS_AOT_TRAINING_SECONDS", "1"),
                    Path.of(launcher), state, java, options, jar, List.of("await-cache", state.toString()));
            assertThat(JvmCacheProbe.writtenWhileRunning(first)).as("the first start's output:%n%s", first.output())
                    .isTrue();
            List<String> trained = JvmCacheProbe.cacheFiles(state);
            assertThat(trained).singleElement().asString().endsWith(".aot");
            assertThat(mode(state.resolve(trained.get(0)).toString())).startsWith("isthmus:isthmus ");
            Commands.Result second = JvmCacheProbe.start(asTheUnit, Path.of(launcher), state, java, options, jar);
            assertThat(JvmCacheProbe.mapped(second)).containsExactly(state.resolve(trained.get(0)).toString());
            // A new release of the application: its first start does not map the old cache, and says nothing of it.
            JvmCacheProbe.writeJar(jar, "2");
            Commands.Result upgraded = JvmCacheProbe.start(asTheUnit, Path.of(launcher), state, java, options, jar);
            assertThat(JvmCacheProbe.mapped(upgraded)).isEmpty();
            assertThat(JvmCacheProbe.cacheFiles(state)).hasSize(1).doesNotContainAnyElementsOf(trained);
            for (Commands.Result run : List.of(first, second, upgraded)) {
                assertThat(JvmCacheProbe.complaints(run)).as("JVM warnings and errors of%n%s", run.output()).isEmpty();
            }
        } finally {
            Commands.run("sh", "-c", "rm -rf /var/lib/isthmus/probe-app /var/lib/isthmus/jvm-*");
        }
    }

    @Test
    @Order(5)
    void anUpgradeKeepsConfigurationAndState() throws Exception {
        // An operator's edit of each conffile, a line no package version contains.
        Files.writeString(Path.of("/etc/isthmus/application.properties"), EDITED, java.nio.file.StandardOpenOption.APPEND);
        Files.writeString(Path.of("/etc/isthmus-agent/agent.env"), "ISTHMUS_GATEWAY=https://gw.onprem.example:15012\n"
                + "ISTHMUS_TRUST_DOMAIN=onprem.acme.internal\n" + EDITED);
        Files.writeString(Path.of("/etc/isthmus/ca/root.pem"), "operator's root\n");
        Files.writeString(Path.of("/var/lib/isthmus/peer-bundles.json"), "state\n");
        Files.writeString(Path.of("/var/lib/isthmus-agent/agent.properties"), "enrolled\n");
        Path gateway = upgraded(deb("isthmus-gateway"));
        Path agent = upgraded(deb("isthmus-agent"));
        dpkg("-i", gateway.toString(), agent.toString());
        for (String pkg : PACKAGES) {
            assertThat(Commands.run("dpkg-query", "-W", "-f=${Version}", pkg).ok()).endsWith("+upgrade1");
        }
        assertThat(Files.readString(Path.of("/etc/isthmus/application.properties"))).endsWith(EDITED);
        assertThat(Files.readString(Path.of("/etc/isthmus-agent/agent.env"))).endsWith(EDITED);
        assertThat(Files.readString(Path.of("/etc/isthmus/ca/root.pem"))).isEqualTo("operator's root\n");
        assertThat(Files.readString(Path.of("/var/lib/isthmus/peer-bundles.json"))).isEqualTo("state\n");
        assertThat(Files.readString(Path.of("/var/lib/isthmus-agent/agent.properties"))).isEqualTo("enrolled\n");
        assertThat(mode("/var/lib/isthmus-agent")).isEqualTo("isthmus-agent:isthmus-workload rwx------");
    }

    /** The same package one version later: what an upgrade to the next release installs. */
    private static Path upgraded(Path deb) throws Exception {
        Path tree = scratch.resolve(deb.getFileName() + ".tree");
        Commands.run("dpkg-deb", "-R", deb.toString(), tree.toString()).ok();
        Path control = tree.resolve("DEBIAN/control");
        Files.writeString(control, Files.readString(control).replaceFirst("(?m)^Version: (.*)$", "Version: $1+upgrade1"));
        Path out = scratch.resolve("upgrade-" + deb.getFileName());
        Commands.run("dpkg-deb", "-Zgzip", "-z1", "--root-owner-group", "-b", tree.toString(), out.toString()).ok();
        return out;
    }

    /**
     * Removal runs the maintainer scripts' stop (deb-systemd-invoke, a no-op without systemd as PID 1: not testable
     * here) and keeps what an operator would not want lost on a remove: configuration, CA, state, users.
     */
    @Test
    @Order(6)
    void removalStopsTheServicesAndKeepsConfigurationAndState() throws Exception {
        dpkg("-r", "isthmus-gateway", "isthmus-agent");
        assertThat(Path.of("/usr/bin/isthmus")).doesNotExist();
        assertThat(Path.of("/usr/lib/isthmus-agent")).doesNotExist();
        assertThat(Path.of("/lib/systemd/system/isthmus-gateway.service")).doesNotExist();
        assertThat(Path.of("/etc/isthmus/application.properties")).exists();
        assertThat(Path.of("/etc/isthmus/ca/root.pem")).exists();
        assertThat(Path.of("/var/lib/isthmus/peer-bundles.json")).exists();
        assertThat(Path.of("/var/lib/isthmus-agent/agent.properties")).exists();
        for (String pkg : PACKAGES) {
            assertThat(Commands.run("dpkg-query", "-W", "-f=${db:Status-Status}", pkg).ok()).isEqualTo("config-files");
        }
    }

    @Test
    @Order(7)
    void purgeLeavesNothingBehind() throws Exception {
        dpkg("--purge", "isthmus-gateway", "isthmus-agent");
        assertThat(FOOTPRINT.stream().filter(p -> Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS)))
                .as("files left after purge").isEmpty();
        for (String account : ACCOUNTS) {
            String[] db = account.split(" ");
            assertThat(Commands.run("getent", db[0], db[1]).exit()).as("%s left after purge", account).isNotZero();
        }
        for (String pkg : PACKAGES) {
            assertThat(Commands.run("dpkg-query", "-W", "-f=${db:Status-Status}", pkg).output())
                    .as("%s in dpkg's database after purge", pkg).doesNotContain("installed", "config-files");
        }
        // Anything else the packages or their scripts might have left (deb-systemd-helper's state, sysusers backups).
        Commands.Result leftovers = Commands.run("find", "/etc", "/usr", "/lib", "/var/lib", "/run", "-xdev",
                "(", "-name", "*isthmus*", "-o", "-name", "*isthmus*.service", ")", "-print");
        assertThat(leftovers.output().lines().toList()).as("paths named *isthmus* after purge").isEmpty();
    }

    /**
     * Whatever failed, leaves the machine as it was: purge, then remove what a faulty purge might have left (none of
     * it existed before the run, {@link #refuseToClobberARealInstallation()} checked).
     */
    @AfterAll
    static void purgeWhatWeInstalled() throws Exception {
        if (!installedByUs) {
            return;
        }
        Commands.run("dpkg", "--purge", "isthmus-gateway", "isthmus-agent");
        for (String p : FOOTPRINT) {
            if (Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS)) {
                Commands.run("rm", "-rf", p);
            }
        }
        for (String account : ACCOUNTS) {
            String[] db = account.split(" ");
            if (Commands.run("getent", db[0], db[1]).exit() == 0) {
                Commands.run(db[0].equals("passwd") ? "userdel" : "groupdel", db[1]);
            }
        }
        // A purge that failed half-way leaves the packages in dpkg's database; with their leftovers gone it succeeds.
        Commands.run("dpkg", "--purge", "isthmus-gateway", "isthmus-agent");
    }
}
