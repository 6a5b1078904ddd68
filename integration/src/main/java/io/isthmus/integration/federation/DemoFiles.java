package io.isthmus.integration.federation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Pem;

/**
 * What the launcher's printed commands use: per cluster, an allow policy for the demo client, a bootstrap admin
 * token, and two workload SVIDs (an allowed client and an intruder), 0600 keys under {@code <dir>/workloads}.
 */
public record DemoFiles(Path dir) {

    public static DemoFiles write(Federation federation) throws IOException {
        Path workloads = federation.config().clusters().get(0).dir().getParent().resolve("workloads");
        Files.createDirectories(workloads);
        DemoFiles demo = new DemoFiles(workloads);
        SvidIssuer issuer = new SvidIssuer(Clock.systemUTC());
        SecureRandom random = new SecureRandom();
        for (ClusterSpec c : federation.config().clusters()) {
            Files.createDirectories(c.dir());
            Files.writeString(c.dir().resolve("policies.yaml"), """
                    # Demo: the workload .../ns/demo/sa/client of any cluster may call the demo services.
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: demo-clients, namespace: demo}
                    spec:
                      action: ALLOW
                      rules:
                      - from:
                        - source: {principals: ["*/ns/demo/sa/client"]}
                        to:
                        - operation: {methods: ["GET", "POST"]}
                    """);
            byte[] token = new byte[32];
            random.nextBytes(token);
            writePrivate(c.dir().resolve("admin.token"), HexFormat.of().formatHex(token) + "\n");
            FederationPki.Intermediate files = federation.pki().intermediate(c.trustDomain());
            CaCredential ca = new CaCredential(Pem.readPrivateKey(files.key()), Pem.readCertificates(files.chain()));
            for (String sa : new String[] {"client", "intruder"}) {
                X509Svid svid = issuer.issue(ca, SpiffeId.parse("spiffe://" + c.trustDomain().name() + "/ns/demo/sa/" + sa),
                        Duration.ofHours(24));
                Path base = workloads.resolve(c.name() + "-" + sa);
                Files.writeString(Path.of(base + ".pem"), Pem.write(svid.chain().toArray()));
                writePrivate(Path.of(base + ".key"), Pem.writePrivateKey(svid.key()));
            }
        }
        return demo;
    }

    public Path client(ClusterSpec c) {
        return dir.resolve(c.name() + "-client");
    }

    public Path intruder(ClusterSpec c) {
        return dir.resolve(c.name() + "-intruder");
    }

    private static void writePrivate(Path file, String content) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content);
    }
}
