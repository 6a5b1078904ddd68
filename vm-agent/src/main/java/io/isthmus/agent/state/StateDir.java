package io.isthmus.agent.state;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Pem;

/**
 * The agent's state directory: {@code svid.key} (PKCS#8, mode 0600, created that way), {@code svid.pem} (chain,
 * leaf first), {@code bundles/<trust domain>.json} (SPIFFE bundle format), {@code agent.properties} (gateway URL,
 * trust domain, SPIFFE ID). Every file is written to a temporary file and moved into place, so a crash leaves the
 * old or the new version, never half of one; the key is written before the chain that needs it.
 */
public final class StateDir {
    private static final String KEY = "svid.key";
    private static final String CHAIN = "svid.pem";
    private static final String META = "agent.properties";
    private static final String BUNDLES = "bundles";

    private final Path dir;
    private final BundleCodec codec = new BundleCodec();

    public StateDir(Path dir) {
        this.dir = dir;
    }

    public Path path() {
        return dir;
    }

    public boolean exists() {
        return Files.isRegularFile(dir.resolve(META)) && Files.isRegularFile(dir.resolve(KEY));
    }

    public synchronized void save(AgentState state) throws IOException {
        Files.createDirectories(dir.resolve(BUNDLES));
        writePrivate(dir.resolve(KEY), Pem.writePrivateKey(state.svid().key()));
        write(dir.resolve(CHAIN), Pem.write(state.svid().chain().toArray()));
        for (TrustBundle b : state.bundles().bundles().values()) {
            write(dir.resolve(BUNDLES).resolve(b.trustDomain().name() + ".json"), codec.toJson(b));
        }
        Properties p = new Properties();
        p.setProperty("gateway", state.gateway().toString());
        p.setProperty("trust-domain", state.trustDomain().name());
        p.setProperty("spiffe-id", state.svid().id().toString());
        java.io.StringWriter w = new java.io.StringWriter();
        p.store(w, "isthmus-agent state; written by the agent");
        write(dir.resolve(META), w.toString());
    }

    /** Reads the state a previous {@code join} or renewal left; fails naming the file that is missing or wrong. */
    public AgentState load() throws IOException {
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(dir.resolve(META), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        PrivateKey key = Pem.readPrivateKey(dir.resolve(KEY));
        List<X509Certificate> chain = Pem.readCertificates(dir.resolve(CHAIN));
        X509Svid svid = new X509Svid(SpiffeId.parse(p.getProperty("spiffe-id")), key, chain);
        List<TrustBundle> bundles = new ArrayList<>();
        Path bdir = dir.resolve(BUNDLES);
        if (Files.isDirectory(bdir)) {
            try (var files = Files.list(bdir)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                    String name = f.getFileName().toString();
                    TrustDomain td = new TrustDomain(name.substring(0, name.length() - ".json".length()));
                    bundles.add(codec.parse(td, Files.readAllBytes(f), f.toString()).bundle());
                }
            }
        }
        return new AgentState(URI.create(p.getProperty("gateway")), TrustDomain.parse(p.getProperty("trust-domain")), svid,
                BundleSet.of(bundles));
    }

    private static void writePrivate(Path target, String content) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, content, StandardCharsets.US_ASCII);
        move(tmp, target);
    }

    private static void write(Path target, String content) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        move(tmp, target);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
