package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/** {@code isthmus ca …}: create the federation root and per-cluster intermediates. */
@Command(name = "ca", description = "Create the federation root and cluster intermediates.",
        subcommands = {CaCommand.InitRoot.class, CaCommand.IssueIntermediate.class})
final class CaCommand {

    @Command(name = "init-root", description = "Create a new federation root CA (ECDSA P-256, self-signed).")
    static final class InitRoot implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", required = true, description = "Directory for root.pem and root.key (0600).")
        Path out;

        @Option(names = "--common-name", defaultValue = "Isthmus federation root", description = "Subject CN.")
        String commonName;

        @Option(names = "--validity", defaultValue = "3650d", description = "Lifetime, e.g. 3650d.")
        Duration validity;

        @Override
        public Integer call() throws Exception {
            Path cert = out.resolve("root.pem");
            Path key = out.resolve("root.key");
            if (Files.exists(cert) || Files.exists(key)) {
                throw new IllegalStateException(out + " already holds a root (root.pem or root.key); refusing to overwrite");
            }
            CaCredential root = new CaFactory(Clock.systemUTC()).createRoot(commonName, validity);
            KeyFiles.writePrivate(key, Pem.writePrivateKey(root.key()));
            Files.writeString(cert, Pem.write(root.certificate()));
            PrintWriter w = spec.commandLine().getOut();
            w.printf("federation root %s, valid until %s%n", Certificates.serialHex(root.certificate()),
                    root.certificate().getNotAfter().toInstant());
            w.printf("  certificate: %s (distribute to every gateway as isthmus.ca.root-certificates)%n", cert);
            w.printf("  private key: %s (0600; keep it offline once the intermediates are issued)%n", key);
            return 0;
        }
    }

    @Command(name = "issue-intermediate", aliases = "sign-csr",
            description = "Issue a cluster intermediate CA, name-constrained to its trust domain, signed by the root. "
                    + "As 'sign-csr --csr <file>': sign the CSR a cluster wrote for a rotation (isthmus rotate "
                    + "intermediate), so the intermediate key never leaves the cluster.")
    static final class IssueIntermediate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--trust-domain", required = true, description = "The cluster's trust domain, e.g. a.acme.internal.")
        String trustDomain;

        @Option(names = "--root-cert", required = true, description = "The federation root certificate (PEM).")
        Path rootCert;

        @Option(names = "--root-key", required = true, description = "The federation root private key (PEM).")
        Path rootKey;

        @Option(names = "--out", required = true, description = "Directory for <trust-domain>.pem and <trust-domain>.key.")
        Path out;

        @Option(names = "--csr", description = "Sign the key of this PKCS#10 request instead of generating one "
                + "(the intermediate key then never leaves the cluster).")
        Path csr;

        @Option(names = "--validity", defaultValue = "365d", description = "Lifetime, e.g. 365d; never beyond the root's.")
        Duration validity;

        @Override
        public Integer call() throws Exception {
            TrustDomain td = TrustDomain.parse(trustDomain);
            X509Certificate rootCertificate = Pem.readCertificate(rootCert);
            CaCredential root = new CaCredential(Pem.readPrivateKey(rootKey), List.of(rootCertificate));
            CaFactory factory = new CaFactory(Clock.systemUTC());
            Path certFile = out.resolve(td.name() + ".pem");
            Path keyFile = out.resolve(td.name() + ".key");
            if (Files.exists(certFile)) {
                throw new IllegalStateException(certFile + " exists; refusing to overwrite");
            }
            X509Certificate cert;
            if (csr != null) {
                PublicKey key = SvidIssuer.verifiedKey(Files.readAllBytes(csr));
                cert = factory.issueIntermediateCertificate(root, td, key, validity);
            } else {
                CaCredential intermediate = factory.issueIntermediate(root, td, validity);
                KeyFiles.writePrivate(keyFile, Pem.writePrivateKey(intermediate.key()));
                cert = intermediate.certificate();
            }
            Files.createDirectories(out);
            Files.writeString(certFile, Pem.write(cert));
            PrintWriter w = spec.commandLine().getOut();
            w.printf("intermediate %s for %s, permitted URI subtree %s, valid until %s%n", Certificates.serialHex(cert),
                    td, Certificates.permittedUriSubtrees(cert), cert.getNotAfter().toInstant());
            w.printf("  certificate: %s (isthmus.ca.intermediate-chain)%n", certFile);
            if (csr == null) {
                w.printf("  private key: %s (0600; isthmus.ca.intermediate-key)%n", keyFile);
            }
            return 0;
        }
    }
}
