package io.isthmus.gateway.trust;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

import org.jboss.logging.Logger;

import io.isthmus.gateway.cli.KeyFiles;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * A throwaway federation root and intermediate for development, kept in {@code <data-dir>/dev-ca} so a
 * restarted dev gateway keeps its identity. Never for production: the root key sits next to the gateway.
 */
final class DevCa {
    private static final Logger LOG = Logger.getLogger(DevCa.class);

    private DevCa() {
    }

    record DevCaFiles(Path root, Path intermediateKey, Path intermediateChain) {
    }

    static DevCaFiles ensure(Path dataDir, TrustDomain td, Clock clock) throws IOException {
        Path dir = dataDir.resolve("dev-ca");
        Path rootPem = dir.resolve("root.pem");
        Path intKey = dir.resolve(td.name() + ".key");
        Path intPem = dir.resolve(td.name() + ".pem");
        if (!Files.exists(rootPem)) {
            CaFactory factory = new CaFactory(clock);
            CaCredential root = factory.createRoot("Isthmus DEVELOPMENT root (throwaway)", Duration.ofDays(30));
            CaCredential intermediate = factory.issueIntermediate(root, td, Duration.ofDays(30));
            Files.createDirectories(dir);
            KeyFiles.writePrivate(dir.resolve("root.key"), Pem.writePrivateKey(root.key()));
            Files.writeString(rootPem, Pem.write(root.certificate()));
            KeyFiles.writePrivate(intKey, Pem.writePrivateKey(intermediate.key()));
            Files.writeString(intPem, Pem.write(intermediate.certificate()));
        }
        LOG.warnf("DEVELOPMENT ONLY: using a generated throwaway federation root and intermediate from %s "
                + "(root %s). Do not use in production: configure isthmus.ca.* with your own CA files.", dir,
                Certificates.serialHex(Pem.readCertificate(rootPem)));
        return new DevCaFiles(rootPem, intKey, intPem);
    }
}
