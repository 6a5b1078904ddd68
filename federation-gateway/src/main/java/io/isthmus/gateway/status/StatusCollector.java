package io.isthmus.gateway.status;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.isthmus.build.BuildInfo;
import io.isthmus.gateway.authz.AuthzConfig;
import io.isthmus.gateway.authz.AuthzService;
import io.isthmus.gateway.authz.RecentDenials;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.enrolment.AdminConfig;
import io.isthmus.gateway.probe.PeerProber;
import io.isthmus.gateway.probe.PeerProbes;
import io.isthmus.gateway.proxy.ProxyConfig;
import io.isthmus.gateway.registry.RegistryService;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.proxy.authz.policy.source.ReloadStatus;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.ServiceResolver;
import io.isthmus.trust.federation.PeerSyncStatus;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * Gathers a {@link FederationStatus} from the running parts of the gateway: the trust plane, the registry and its
 * bridge, the policy sources, the recent denials and a (possibly cached) probe round of every peer. Reads in-memory
 * state only, apart from the probe round, which may block up to {@code isthmus.status.probe-timeout}: call it off
 * the event loop. Thread-safe.
 */
@ApplicationScoped
public class StatusCollector {
    @Inject
    GatewayConfig gateway;

    @Inject
    ProxyConfig proxy;

    @Inject
    AuthzConfig authzConfig;

    @Inject
    AdminConfig admin;

    @Inject
    TrustService trust;

    @Inject
    RegistryService registry;

    @Inject
    ServiceResolver resolver;

    @Inject
    AuthzService authz;

    @Inject
    RecentDenials denials;

    @Inject
    PeerProber prober;

    @Inject
    Clock clock;

    public FederationStatus collect() {
        Map<String, PeerProbes> probes = prober.latest();
        TrustRuntime rt = trust.runtime();
        Instant now = clock.instant();
        return new FederationStatus(registry.site(), rt.trustDomain().name(), now, BuildInfo.current().describe(),
                self(rt), peers(rt, probes), authorities(rt), registry(now), policies(), denials.list());
    }

    private SelfView self(TrustRuntime rt) {
        X509Svid svid = rt.current();
        SvidView svidView = new SvidView(svid.id().toString(), Certificates.serialHex(svid.leaf()), svid.notBefore(),
                svid.notAfter());
        List<FileView> files = new ArrayList<>();
        gateway.ca().rootCertificates().ifPresent(p -> files.add(FileFacts.of("isthmus.ca.root-certificates", p, false)));
        gateway.ca().intermediateChain().ifPresent(p -> files.add(FileFacts.of("isthmus.ca.intermediate-chain", p, false)));
        gateway.ca().intermediateKey().ifPresent(p -> files.add(FileFacts.of("isthmus.ca.intermediate-key", p, true)));
        admin.bootstrapTokenFile().ifPresent(p -> files.add(FileFacts.of("isthmus.admin.bootstrap-token-file", p, true)));
        authzConfig.policyFile().ifPresent(p -> files.add(FileFacts.of("isthmus.authz.policy-file", p, false)));
        files.add(FileFacts.of("isthmus.data-dir", gateway.dataDir(), false));
        return new SelfView(pems(rt.settings().roots().certificates()), pems(rt.ca().current().chain()), svidView,
                rt.localBundle().current().sequence(), rt.bundleEndpointAddress().getHostString() + ":"
                        + rt.bundleEndpointAddress().getPort(), files, ConfigProblems.find(configFacts()),
                proxy.pathNormalization());
    }

    private ConfigProblems.Facts configFacts() {
        Map<String, String> trustPeers = new TreeMap<>();
        gateway.peers().forEach((name, p) -> trustPeers.put(name, p.trustDomain()));
        Map<String, String> registryPeers = new TreeMap<>();
        registry.config().peers().forEach((name, p) -> registryPeers.put(name, p.trustDomain()));
        return new ConfigProblems.Facts(gateway.trustDomain(), trustPeers, registryPeers, registry.node().isPresent(),
                proxy.pathNormalization(), authzConfig.source().name().toLowerCase(java.util.Locale.ROOT),
                authzConfig.policyFile().map(Object::toString), gateway.dev().generateCa(),
                gateway.dev().clockOffset());
    }

    private List<PeerView> peers(TrustRuntime rt, Map<String, PeerProbes> probes) {
        Map<TrustDomain, PeerSyncStatus> sync = rt.sync().status();
        List<PeerView> peers = new ArrayList<>();
        gateway.peers().forEach((name, config) -> {
            TrustDomain td = TrustDomain.parse(config.trustDomain());
            PeerSyncStatus s = sync.get(td);
            SyncView view = s == null
                    ? new SyncView(Optional.empty(), Optional.empty(), Optional.empty(), Optional.of("not polled"),
                            Optional.empty(), 0, false, true)
                    : new SyncView(s.sequence(), s.lastSuccess(), s.lastAttempt(), s.lastError(),
                            s.lastRejection().map(r -> r.label()), s.interval().toSeconds(), s.loadedFromDisk(),
                            s.stale());
            List<String> bundle = rt.bundleFor(td).map(b -> pems(b.x509Authorities())).orElse(List.of());
            PeerProbes p = probes.get(name);
            peers.add(new PeerView(name, td.name(), config.bundleEndpointUrl().toString(), view, bundle,
                    p.ingress(), p.clock()));
        });
        return peers;
    }

    private RegistryView registry(Instant now) {
        List<ExportedService> all = registry.registry().list(RegistryQuery.ALL);
        Map<String, Instant> lastUpdate = registry.registry().lastUpdateByCluster();
        Set<String> view = registry.node().map(n -> n.sitesView()).orElse(Set.of());
        List<SiteView> sites = new ArrayList<>();
        registry.config().peers().forEach((site, p) -> sites.add(new SiteView(site, p.trustDomain(),
                view.contains(site), Optional.ofNullable(lastUpdate.get(site)),
                all.stream().filter(e -> e.key().cluster().equals(site)).map(ExportedService::heartbeat)
                        .max(Comparator.naturalOrder()))));
        String suffix = registry.registry().meshSuffix();
        List<ExportRow> stale = all.stream().filter(e -> e.stale(now)).map(e -> row(e, suffix, now)).toList();
        Locality here = new Locality(proxy.locality().region().orElse(""), proxy.locality().zone().orElse(""));
        Map<String, List<ExportedService>> byName = new TreeMap<>();
        for (ExportedService e : all) {
            byName.computeIfAbsent(e.meshName(suffix).host(), k -> new ArrayList<>()).add(e);
        }
        List<ServiceRow> services = new ArrayList<>();
        byName.forEach((host, exports) -> {
            MeshName name = exports.get(0).meshName(suffix);
            services.add(new ServiceRow(host, exports.stream().sorted(Comparator.comparing(e -> e.key().cluster()))
                    .map(e -> row(e, suffix, now)).toList(),
                    resolver.resolve(name, here).stream().map(e -> e.key().cluster()).toList()));
        });
        return new RegistryView(registry.site(), registry.node().isPresent(), sites, stale, services);
    }

    private static ExportRow row(ExportedService e, String suffix, Instant now) {
        return new ExportRow(e.key().cluster(), e.meshName(suffix).host(), e.readyEndpoints(), e.heartbeat(),
                e.lease().toSeconds(), e.stale(now), e.routable(now));
    }

    private List<PolicySourceView> policies() {
        Map<String, ReloadStatus> statuses = new LinkedHashMap<>(new TreeMap<>(authz.statuses()));
        List<PolicySourceView> views = new ArrayList<>();
        statuses.forEach((source, s) -> views.add(new PolicySourceView(source, s.policies(), s.lastSuccess(),
                s.lastFailure(), s.lastErrors().stream().map(Object::toString).toList())));
        return views;
    }

    private List<CaView> authorities(TrustRuntime rt) {
        List<CaView> cas = new ArrayList<>();
        rt.settings().roots().certificates().forEach(c -> cas.add(ca("federation", "root", c)));
        cas.add(ca(rt.trustDomain().name(), "intermediate", rt.ca().current().certificate()));
        gateway.peers().values().forEach(p -> rt.bundleFor(TrustDomain.parse(p.trustDomain())).ifPresent(b ->
                b.x509Authorities().forEach(c -> cas.add(ca(p.trustDomain(), "peer-ca", c)))));
        return cas;
    }

    private static CaView ca(String owner, String kind, X509Certificate c) {
        return new CaView(owner, kind, c.getSubjectX500Principal().getName(), Certificates.serialHex(c),
                c.getNotAfter().toInstant());
    }

    private static List<String> pems(List<X509Certificate> certificates) {
        return certificates.stream().map(c -> Pem.write(c)).toList();
    }
}
