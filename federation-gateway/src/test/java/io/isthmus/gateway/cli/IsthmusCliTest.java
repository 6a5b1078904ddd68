package io.isthmus.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.build.BuildInfo;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.federation.SyncSettings;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/** A federation built by hand with the CLI, as an operator without Terraform would. */
class IsthmusCliTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void versionNamesTheBuildAndItsCommit() {
        CliRun version = run("--version");
        assertThat(version.exit()).isZero();
        assertThat(version.out().strip()).isEqualTo("isthmus " + BuildInfo.current().describe())
                .matches("isthmus \\S+ \\(commit ([0-9a-f]{7,}|unknown)(, with uncommitted changes)?\\)");
    }

    @Test
    void buildsAFederationByHandWithPrivateKeysOwnerOnly() throws Exception {
        CliRun root = run("ca", "init-root", "--out", dir.resolve("root").toString());
        assertThat(root.exit()).as(root.err()).isZero();
        assertThat(root.out()).contains("federation root", "keep it offline");
        assertThat(KeyFiles.isOwnerOnly(dir.resolve("root/root.key"))).isTrue();

        CliRun a = run("ca", "issue-intermediate", "--trust-domain", "a.acme.internal",
                "--root-cert", dir.resolve("root/root.pem").toString(), "--root-key", dir.resolve("root/root.key").toString(),
                "--out", dir.resolve("a").toString(), "--validity", "90d");
        assertThat(a.exit()).as(a.err()).isZero();
        assertThat(a.out()).contains("permitted URI subtree [a.acme.internal]");
        assertThat(KeyFiles.isOwnerOnly(dir.resolve("a/a.acme.internal.key"))).isTrue();
        var cert = Pem.readCertificate(dir.resolve("a/a.acme.internal.pem"));
        assertThat(Certificates.permittedUriSubtrees(cert)).containsExactly("a.acme.internal");
        // The files are exactly what the gateway reads: they load as a CA credential.
        new CaCredential(Pem.readPrivateKey(dir.resolve("a/a.acme.internal.key")), List.of(cert));
    }

    @Test
    void signsAnIntermediateFromACsrSoItsKeyNeverLeavesTheCluster() throws Exception {
        run("ca", "init-root", "--out", dir.toString());
        var keys = io.isthmus.trust.x509.Crypto.generateEcP256();
        Files.write(dir.resolve("b.csr"), io.isthmus.trust.testing.TestCa.csr(keys, null));
        CliRun b = run("ca", "issue-intermediate", "--trust-domain", "b.acme.internal", "--root-cert",
                dir.resolve("root.pem").toString(), "--root-key", dir.resolve("root.key").toString(), "--out",
                dir.toString(), "--csr", dir.resolve("b.csr").toString());
        assertThat(b.exit()).as(b.err()).isZero();
        assertThat(Files.exists(dir.resolve("b.acme.internal.key"))).isFalse();
        assertThat(Pem.readCertificate(dir.resolve("b.acme.internal.pem")).getPublicKey()).isEqualTo(keys.getPublic());
    }

    @Test
    void refusesBadInputWithoutTouchingExistingFiles() throws Exception {
        run("ca", "init-root", "--out", dir.toString());
        String before = Files.readString(dir.resolve("root.key"));
        CliRun again = run("ca", "init-root", "--out", dir.toString());
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("refusing to overwrite");
        assertThat(Files.readString(dir.resolve("root.key"))).isEqualTo(before);

        CliRun badTd = run("ca", "issue-intermediate", "--trust-domain", "Bad_Domain", "--root-cert",
                dir.resolve("root.pem").toString(), "--root-key", dir.resolve("root.key").toString(), "--out", dir.toString());
        assertThat(badTd.exit()).isEqualTo(1);
        assertThat(badTd.err()).contains("SPIFFE ID 'Bad_Domain' has uppercase letters in the trust domain");

        CliRun wrongKey = run("ca", "issue-intermediate", "--trust-domain", "c.acme.internal", "--root-cert",
                dir.resolve("root.pem").toString(), "--root-key", dir.resolve("root.pem").toString(), "--out", dir.toString());
        assertThat(wrongKey.exit()).isEqualTo(1);
        assertThat(wrongKey.err()).contains("expected an unencrypted PRIVATE KEY, found a CERTIFICATE");

        CliRun badDuration = run("ca", "init-root", "--out", dir.resolve("x").toString(), "--validity", "ten years");
        assertThat(badDuration.exit()).isEqualTo(2);
        assertThat(badDuration.err()).contains("is not a duration");

        CliRun missing = run("ca", "issue-intermediate");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("Missing required options");
    }

    @Test
    void showsABundleFromALiveEndpointAuthenticatedByTheRoot() throws Exception {
        run("ca", "init-root", "--out", dir.toString());
        run("ca", "issue-intermediate", "--trust-domain", "a.acme.internal", "--root-cert", dir.resolve("root.pem").toString(),
                "--root-key", dir.resolve("root.key").toString(), "--out", dir.toString());
        TrustDomain td = new TrustDomain("a.acme.internal");
        var roots = new io.isthmus.trust.ca.FederationRoots(Pem.readCertificates(dir.resolve("root.pem")));
        var ca = new CaCredential(Pem.readPrivateKey(dir.resolve("a.acme.internal.key")),
                Pem.readCertificates(dir.resolve("a.acme.internal.pem")));
        TrustSettings settings = new TrustSettings(td, roots, ca, SpiffeId.ofServiceAccount(td, "isthmus-system", "gw"),
                dir.resolve("data"), new InetSocketAddress("127.0.0.1", 0), Duration.ofSeconds(60), Duration.ofHours(1),
                Duration.ofSeconds(30), List.of(), SyncSettings.defaults());
        try (TrustRuntime gateway = TrustRuntime.start(settings, Clock.systemUTC(), new io.isthmus.trust.federation.SyncListener() { })) {
            String url = "https://127.0.0.1:" + gateway.bundleEndpointAddress().getPort() + "/";
            CliRun show = run("bundle", "show", "--trust-domain", "a.acme.internal", "--url", url, "--root",
                    dir.resolve("root.pem").toString());
            assertThat(show.exit()).as(show.err()).isZero();
            assertThat(show.out()).contains("sequence:       " + gateway.localBundle().current().sequence(), "refresh hint:   60s",
                    "serial " + Certificates.serialHex(ca.certificate()), "permitted [a.acme.internal]");

            // The same endpoint is not b.acme.internal's: authentication fails, exit 1, a precise reason.
            CliRun impostor = run("bundle", "show", "--trust-domain", "b.acme.internal", "--url", url, "--root",
                    dir.resolve("root.pem").toString());
            assertThat(impostor.exit()).isEqualTo(1);
            assertThat(impostor.err()).contains("failed authentication").contains("b.acme.internal");

            Files.writeString(dir.resolve("bundle.json"), new io.isthmus.trust.bundle.BundleCodec()
                    .toJson(gateway.localBundle().current()));
        }
        CliRun file = run("bundle", "show", "--trust-domain", "a.acme.internal", "--file", dir.resolve("bundle.json").toString());
        assertThat(file.exit()).as(file.err()).isZero();
        assertThat(file.out()).contains("x509 authorities (1)");
        Files.writeString(dir.resolve("broken.json"), "{\"keys\": 1}");
        CliRun broken = run("bundle", "show", "--trust-domain", "a.acme.internal", "--file", dir.resolve("broken.json").toString());
        assertThat(broken.exit()).isEqualTo(1);
        assertThat(broken.err()).contains("has no 'keys' array");
    }
}
