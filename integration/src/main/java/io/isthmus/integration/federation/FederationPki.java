package io.isthmus.integration.federation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Pem;

/**
 * Writes a throwaway federation PKI for a local federation: one root and, per cluster, an intermediate
 * name-constrained to that cluster's trust domain, in the files the gateway's {@code isthmus.ca.*} keys read.
 * The root key is written too (0600), so the launcher can issue more; a real federation keeps it offline.
 */
public final class FederationPki {
    private final Path dir;
    private final CaFactory factory;
    private final CaCredential root;

    private FederationPki(Path dir, CaFactory factory, CaCredential root) {
        this.dir = dir;
        this.factory = factory;
        this.root = root;
    }

    /** Reopens a PKI that {@link #create} wrote to {@code dir} (its root key must still be there). */
    public static FederationPki open(Path dir) {
        CaCredential root = new CaCredential(Pem.readPrivateKey(dir.resolve("root.key")),
                Pem.readCertificates(dir.resolve("root.pem")));
        return new FederationPki(dir, new CaFactory(Clock.systemUTC()), root);
    }

    public static FederationPki create(Path dir, Clock clock) throws IOException {
        Files.createDirectories(dir);
        CaFactory factory = new CaFactory(clock);
        CaCredential root = factory.createRoot("Isthmus local federation root (development only)", Duration.ofDays(90));
        writePrivate(dir.resolve("root.key"), Pem.writePrivateKey(root.key()));
        Files.writeString(dir.resolve("root.pem"), Pem.write(root.certificate()));
        return new FederationPki(dir, factory, root);
    }

    public Path rootCertificate() {
        return dir.resolve("root.pem");
    }

    public Path rootKey() {
        return dir.resolve("root.key");
    }

    public CaCredential root() {
        return root;
    }

    /**
     * Issues (once) the intermediate of {@code trustDomain}, valid 30 days (well clear of {@code isthmus check}'s
     * 7-day warning); returns its key and chain files.
     */
    public Intermediate intermediate(TrustDomain trustDomain) throws IOException {
        Path key = dir.resolve(trustDomain.name() + ".key");
        Path chain = dir.resolve(trustDomain.name() + ".pem");
        if (!Files.exists(chain)) {
            write(factory.issueIntermediate(root, trustDomain, Duration.ofDays(30)), key, chain);
        }
        return new Intermediate(key, chain);
    }

    /** The intermediate of {@code trustDomain} as a credential, to issue more SVIDs of its trust domain. */
    public CaCredential credential(TrustDomain trustDomain) throws IOException {
        Intermediate files = intermediate(trustDomain);
        return new CaCredential(Pem.readPrivateKey(files.key()), Pem.readCertificates(files.chain()));
    }

    /**
     * Issues another intermediate of {@code trustDomain}, valid for {@code validity}, into files named
     * {@code <td>-<label>.key/.pem} (the first one stays where it is), e.g. one about to expire.
     */
    public Intermediate reissue(TrustDomain trustDomain, Duration validity, String label) throws IOException {
        Path key = dir.resolve(trustDomain.name() + "-" + label + ".key");
        Path chain = dir.resolve(trustDomain.name() + "-" + label + ".pem");
        write(factory.issueIntermediate(root, trustDomain, validity), key, chain);
        return new Intermediate(key, chain);
    }

    private static void write(CaCredential intermediate, Path key, Path chain) throws IOException {
        writePrivate(key, Pem.writePrivateKey(intermediate.key()));
        Files.writeString(chain, Pem.write(intermediate.certificate()));
    }

    /**
     * An SVID for a test or launcher client of the gateways' APIs ({@code /v1/services} needs a federated SVID):
     * {@code spiffe://<td>/ns/isthmus-tests/sa/api-reader}, issued for a day by the intermediate of the first trust
     * domain (by name) that has one here.
     */
    public X509Svid apiReader() {
        try (Stream<Path> files = Files.list(dir)) {
            Path chain = files.filter(f -> f.getFileName().toString().endsWith(".pem"))
                    .filter(f -> !f.getFileName().toString().equals("root.pem")).sorted().findFirst()
                    .orElseThrow(() -> new IllegalStateException("no cluster intermediate in " + dir + " yet"));
            String td = chain.getFileName().toString().replaceAll("\\.pem$", "");
            CaCredential ca = new CaCredential(Pem.readPrivateKey(dir.resolve(td + ".key")), Pem.readCertificates(chain));
            return new SvidIssuer(Clock.systemUTC()).issue(ca, SpiffeId.parse("spiffe://" + td + "/ns/isthmus-tests/sa/api-reader"),
                    Duration.ofDays(1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public record Intermediate(Path key, Path chain) {
        public List<Path> files() {
            return List.of(key, chain);
        }
    }

    private static void writePrivate(Path file, String pem) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, pem);
    }
}
