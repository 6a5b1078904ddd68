package io.isthmus.gateway.check;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.isthmus.gateway.status.CaView;
import io.isthmus.gateway.status.ClockView;
import io.isthmus.gateway.status.ExportRow;
import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.FileView;
import io.isthmus.gateway.status.PeerView;
import io.isthmus.gateway.status.PolicySourceView;
import io.isthmus.gateway.status.ProbeView;
import io.isthmus.gateway.status.RegistryView;
import io.isthmus.gateway.status.SelfView;
import io.isthmus.gateway.status.ServiceRow;
import io.isthmus.gateway.status.SiteView;
import io.isthmus.gateway.status.SvidView;
import io.isthmus.gateway.status.SyncView;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * A healthy two-cluster status as alpha reports it (beta its peer), with real certificates from a {@link TestCa}; tests
 * break one fact at a time with the {@code with*} methods.
 */
final class StatusFixture {
    static final Instant NOW = Instant.now();
    static final TestCa PKI = TestCa.create();
    static final CaCredential ALPHA = PKI.intermediate("alpha.acme.internal");
    static final CaCredential BETA = PKI.intermediate("beta.acme.internal");
    static final CaCredential GAMMA = PKI.intermediate("gamma.acme.internal");

    static FederationStatus healthy() {
        SelfView self = self(ALPHA.chain(), List.of(), List.of(file("isthmus.ca.intermediate-key", true, "rw-------")));
        return new FederationStatus("alpha", "alpha.acme.internal", NOW, "0.1.0 (commit test)", self,
                List.of(peer(sync(Optional.empty(), Optional.empty(), false), BETA.chain(), okProbe(), clock(12, 1))),
                List.of(new CaView("federation", "root", "CN=root", "01", NOW.plus(Duration.ofDays(300)))),
                registry(true, List.of()), List.of(new PolicySourceView("file", 2, Optional.of(NOW.minusSeconds(30)),
                        Optional.empty(), List.of())), List.of());
    }

    static SelfView self(List<X509Certificate> intermediate, List<String> problems, List<FileView> files) {
        return new SelfView(List.of(Pem.write(PKI.rootCertificate())), pems(intermediate),
                new SvidView("spiffe://alpha.acme.internal/ns/isthmus-system/sa/isthmus-gateway", "0a",
                        NOW.minus(Duration.ofMinutes(10)), NOW.plus(Duration.ofMinutes(50))),
                3, "0.0.0.0:8443", files, problems, "merge-slashes");
    }

    static FileView file(String key, boolean secret, String permissions) {
        return new FileView(key, "/etc/isthmus/" + key, secret, true, true, Optional.of(permissions),
                Optional.of("isthmus"), Optional.of("isthmus"));
    }

    static SyncView sync(Optional<String> lastError, Optional<String> rejection, boolean stale) {
        return new SyncView(Optional.of(4L), Optional.of(NOW.minusSeconds(3)), Optional.of(NOW.minusSeconds(1)),
                lastError, rejection, 2, false, stale);
    }

    static PeerView peer(SyncView sync, List<X509Certificate> bundle, ProbeView ingress, ClockView clock) {
        return new PeerView("beta", "beta.acme.internal", "https://10.0.0.2:8443/", sync, pems(bundle), ingress, clock);
    }

    static ProbeView okProbe() {
        return new ProbeView(Optional.of("10.0.0.2:15443"), true,
                Optional.of("spiffe://beta.acme.internal/ns/isthmus-system/sa/isthmus-gateway"), Optional.empty(), 4, NOW);
    }

    static ClockView clock(long offsetMillis, long uncertaintyMillis) {
        return new ClockView(Optional.of(offsetMillis), uncertaintyMillis, Optional.empty(), NOW);
    }

    static RegistryView registry(boolean betaConnected, List<ExportRow> stale) {
        ExportRow payments = new ExportRow("beta", "payments.billing.svc.clusterset.local", 2, NOW.minusSeconds(1), 15,
                false, true);
        return new RegistryView("alpha", true, List.of(new SiteView("beta", "beta.acme.internal", betaConnected,
                Optional.of(NOW.minusSeconds(1)), Optional.of(NOW.minusSeconds(1)))), stale,
                List.of(new ServiceRow(payments.meshName(), List.of(payments), List.of("beta"))));
    }

    static CheckInput input(FederationStatus status) {
        TrustBundle own = new TrustBundle(TrustDomain.parse(status.trustDomain()),
                TrustChecks.certificates(status.self().intermediateChainPem(), "test").subList(0, 1), List.of(), 3,
                Optional.empty());
        return new CheckInput(status, Map.of(), CheckInput.OwnBundle.served("https://127.0.0.1:8443/", own),
                List.of(PKI.rootCertificate()), "--root-ca root.pem", true, Thresholds.DEFAULT);
    }

    static List<String> pems(List<X509Certificate> certificates) {
        return certificates.stream().map(c -> Pem.write(c)).toList();
    }

    static String serial(CaCredential ca) {
        return Certificates.serialHex(ca.certificate());
    }
}
