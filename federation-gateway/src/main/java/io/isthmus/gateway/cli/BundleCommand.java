package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.federation.BundleEndpointClient;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/** {@code isthmus bundle show}: print a SPIFFE bundle from a file or a live bundle endpoint. */
@Command(name = "bundle", description = "Inspect SPIFFE bundles.", subcommands = BundleCommand.Show.class)
final class BundleCommand {

    @Command(name = "show", description = "Print a bundle's sequence, refresh hint and CAs.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--trust-domain", required = true, description = "Whose bundle it is.")
        String trustDomain;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Source source;

        static final class Source {
            @Option(names = "--file", description = "A bundle document (SPIFFE JSON).")
            Path file;

            @Option(names = "--url", description = "A bundle endpoint, https://host:8443/ (needs --root).")
            URI url;
        }

        @Option(names = "--root", description = "Federation root certificate(s), to authenticate --url.")
        Path root;

        @Override
        public Integer call() throws Exception {
            TrustDomain td = TrustDomain.parse(trustDomain);
            BundleCodec codec = new BundleCodec();
            ParsedBundle parsed;
            if (source.file != null) {
                parsed = codec.parse(td, Files.readAllBytes(source.file), source.file.toString());
            } else {
                if (root == null) {
                    throw new IllegalArgumentException("--url needs --root: the endpoint is authenticated by its SVID, "
                            + "which must chain to the federation root and be constrained to " + td);
                }
                FederationRoots roots = new FederationRoots(Pem.readCertificates(root));
                BundleEndpointClient client = new BundleEndpointClient(new PeerConfig("cli", td, source.url,
                        Optional.empty()), roots, ignored -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30),
                        codec, Duration.ofSeconds(10), null);
                try {
                    parsed = client.fetch().join();
                } catch (CompletionException e) {
                    throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
                }
            }
            PrintWriter w = spec.commandLine().getOut();
            var b = parsed.bundle();
            w.printf("trust domain:   %s%n", b.trustDomain());
            w.printf("sequence:       %d%n", b.sequence());
            w.printf("refresh hint:   %s%n", b.refreshHint().map(d -> d.toSeconds() + "s").orElse("(none)"));
            w.printf("x509 authorities (%d):%n", b.x509Authorities().size());
            for (X509Certificate ca : b.x509Authorities()) {
                w.printf("  serial %s%n    subject   %s%n    issuer    %s%n    valid     %s .. %s%n    permitted %s%n",
                        Certificates.serialHex(ca), ca.getSubjectX500Principal().getName(),
                        ca.getIssuerX500Principal().getName(), ca.getNotBefore().toInstant(), ca.getNotAfter().toInstant(),
                        Certificates.permittedUriSubtrees(ca));
            }
            w.printf("jwt authorities (%d):%n", b.jwtAuthorities().size());
            for (JwtAuthority j : b.jwtAuthorities()) {
                w.printf("  kid %s (%s)%n", j.keyId(), j.publicKey().getAlgorithm());
            }
            for (String warning : parsed.warnings()) {
                w.printf("warning: %s%n", warning);
            }
            return 0;
        }
    }
}
