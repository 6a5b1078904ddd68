package io.isthmus.bench.trust;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Pem;

/**
 * X.509-SVID issuance from a PKCS#10 request (verify the CSR's signature, build and sign the leaf) and
 * verification of a presented chain (leaf checks, signer in the live bundle, name constraint, root), single
 * thread. Run: java -jar benchmarks/target/benchmarks.jar SvidBenchmark
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class SvidBenchmark {
    private static final TrustDomain TD = new TrustDomain("a.acme.internal");
    private static final SpiffeId ID = SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout");

    private CaCredential intermediate;
    private SvidIssuer issuer;
    private byte[] csr;
    private List<X509Certificate> chain;
    private X509SvidVerifier verifier;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Clock clock = Clock.systemUTC();
        CaFactory factory = new CaFactory(clock);
        CaCredential root = factory.createRoot("bench root", Duration.ofDays(365));
        intermediate = factory.issueIntermediate(root, TD, Duration.ofDays(30));
        issuer = new SvidIssuer(clock);
        KeyPair keys = Crypto.generateEcP256();
        var request = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=bench"), keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(Crypto.BC).build(keys.getPrivate()));
        csr = Pem.write(request).getBytes(StandardCharsets.US_ASCII);
        chain = issuer.issueFromCsr(intermediate, ID, csr, Duration.ofHours(1));
        BundleSet bundles = BundleSet.of(List.of(new TrustBundle(TD, List.of(intermediate.certificate()), List.of(), 1,
                Optional.empty())));
        verifier = new X509SvidVerifier(FederationRoots.of(root.certificate()), bundles, clock, Duration.ofSeconds(30));
        if (!verifier.verify(chain).verified()) {
            throw new IllegalStateException("benchmark chain does not verify");
        }
    }

    @Benchmark
    public List<X509Certificate> issueFromCsr() {
        return issuer.issueFromCsr(intermediate, ID, csr, Duration.ofHours(1));
    }

    @Benchmark
    public SvidVerdict verify() {
        return verifier.verify(chain);
    }
}
