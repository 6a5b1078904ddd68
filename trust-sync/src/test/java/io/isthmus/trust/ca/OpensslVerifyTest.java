package io.isthmus.trust.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Pem;

/**
 * openssl, an independent X.509 implementation, checks what our CA issues: SVID chains verify, and a leaf for
 * another trust domain signed by a name-constrained intermediate fails on the permitted subtree.
 */
class OpensslVerifyTest {
    @TempDir
    Path dir;

    private final TestCa pki = TestCa.create();
    private final CaCredential a = pki.intermediate("a.acme.internal");

    @BeforeAll
    static void opensslPresent() {
        boolean present;
        try {
            present = new ProcessBuilder("openssl", "version").start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            present = false;
        }
        // Required, not assumed: .ci/run installs openssl, and a machine without it must fail loudly.
        org.junit.jupiter.api.Assertions.assertTrue(present, "openssl must be installed to run this test");
    }

    private record Result(int exit, String output) {
    }

    private Result verify(List<java.security.cert.X509Certificate> chain) throws Exception {
        Path root = dir.resolve("root.pem");
        Path untrusted = dir.resolve("untrusted.pem");
        Path leaf = dir.resolve("leaf.pem");
        Files.writeString(root, Pem.write(pki.rootCertificate()));
        Files.writeString(untrusted, Pem.write(chain.subList(1, chain.size())));
        Files.writeString(leaf, Pem.write(chain.get(0)));
        List<String> cmd = new ArrayList<>(List.of("openssl", "verify", "-x509_strict", "-CAfile", root.toString(),
                "-untrusted", untrusted.toString(), "-purpose", "sslclient", leaf.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    @Test
    void opensslAcceptsAnIssuedSvidChain() throws Exception {
        X509Svid svid = TestCa.svid(a, "spiffe://a.acme.internal/ns/shop/sa/checkout");
        Result r = verify(svid.chain());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("leaf.pem: OK");
    }

    @Test
    void opensslAcceptsAWorkloadSvidCarryingTheAgentMark() throws Exception {
        var keys = io.isthmus.trust.x509.Crypto.generateEcP256();
        var vm = io.isthmus.trust.spiffe.SpiffeId.parse("spiffe://a.acme.internal/ns/vm/sa/db");
        var leaf = new SvidIssuer(java.time.Clock.systemUTC()).issueWorkloadCertificate(a, vm, keys.getPublic(),
                java.time.Duration.ofMinutes(30), vm);
        assertThat(leaf.getExtensionValue(io.isthmus.trust.x509.IsthmusOids.WORKLOAD_ISSUED_TO_AGENT.getId())).isNotNull();
        Result r = verify(List.of(leaf, a.certificate()));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("leaf.pem: OK");
    }

    @Test
    void opensslAcceptsAnSvidIssuedFromACsr() throws Exception {
        var keys = io.isthmus.trust.x509.Crypto.generateEcP256();
        var chain = new SvidIssuer(java.time.Clock.systemUTC()).issueFromCsr(a,
                io.isthmus.trust.spiffe.SpiffeId.parse("spiffe://a.acme.internal/ns/vm/sa/db"), TestCa.csr(keys, null),
                java.time.Duration.ofMinutes(30));
        Result r = verify(chain);
        assertThat(r.exit()).as(r.output()).isZero();
    }

    @Test
    void opensslRejectsALeafOutsideTheIntermediatesNameConstraints() throws Exception {
        List<java.security.cert.X509Certificate> forged = TestCa.leaf()
                .uri("spiffe://b.acme.internal/ns/billing/sa/payments").chainSignedBy(a);
        Result r = verify(forged);
        assertThat(r.exit()).as(r.output()).isNotZero();
        assertThat(r.output()).contains("permitted subtree violation");
    }

    @Test
    void opensslRejectsAChainFromAnotherRoot() throws Exception {
        CaCredential rogue = TestCa.create().intermediate("a.acme.internal");
        Result r = verify(TestCa.svid(rogue, "spiffe://a.acme.internal/ns/shop/sa/checkout").chain());
        assertThat(r.exit()).as(r.output()).isNotZero();
        assertThat(r.output()).containsAnyOf("unable to get local issuer certificate", "unable to get issuer certificate");
    }
}
