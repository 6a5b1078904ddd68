package io.isthmus.registry.testing;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.signing.OwnerTrust;
import io.isthmus.registry.signing.SvidEntryTrust;
import io.isthmus.registry.store.InfinispanRegistry;
import io.isthmus.registry.xsite.ChannelFactory;
import io.isthmus.registry.xsite.PeerSite;
import io.isthmus.registry.xsite.RegistryNode;
import io.isthmus.registry.xsite.SiteSettings;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * N clusters of one federation on loopback, each a registry site with a fresh PKI (one root, one constrained
 * intermediate per trust domain, one gateway SVID per site) and fixed free ports, so a site can be stopped and
 * started again at the same addresses. Close it to stop every site.
 */
public final class TestFederation implements AutoCloseable {
    public static final String HOST = "127.0.0.1";

    private final TestCa pki = TestCa.create();
    private final Clock clock;
    private final Map<String, SiteSettings> settings = new LinkedHashMap<>();
    private final Map<String, CaCredential> intermediates = new LinkedHashMap<>();
    private final Map<String, Site> running = new LinkedHashMap<>();
    private final X509SvidVerifier verifier;
    /** Each site's own view of the bundles, so one site can revoke another's intermediate. */
    private final Map<String, AtomicReference<BundleSet>> bundlesAt = new LinkedHashMap<>();
    private final Map<String, X509SvidVerifier> verifierAt = new LinkedHashMap<>();

    /** One running site: its node (cache manager) and registry. */
    public record Site(String name, RegistryNode node, InfinispanRegistry registry) {
    }

    public TestFederation(Clock clock, String... sites) {
        this.clock = clock;
        Map<String, int[]> ports = new LinkedHashMap<>();
        for (String s : sites) {
            ports.put(s, new int[] {FreePorts.next(), FreePorts.next()});
            intermediates.put(s, pki.intermediate(trustDomain(s).name()));
        }
        for (String s : sites) {
            Map<String, PeerSite> peers = new LinkedHashMap<>();
            for (String p : sites) {
                if (!p.equals(s)) {
                    peers.put(p, new PeerSite(p, List.of(new InetSocketAddress(HOST, ports.get(p)[1])), trustDomain(p)));
                }
            }
            settings.put(s, new SiteSettings(s, trustDomain(s), HOST, ports.get(s)[0], List.of(), ports.get(s)[1], peers));
        }
        List<TrustBundle> bundles = new ArrayList<>();
        intermediates.forEach((s, ca) -> bundles.add(new TrustBundle(trustDomain(s), List.of(ca.certificate()), List.of(), 1,
                Optional.empty())));
        BundleSet set = BundleSet.of(bundles);
        verifier = new X509SvidVerifier(pki.roots(), set::bundleFor, Clock.systemUTC(), Duration.ofSeconds(30));
        for (String s : sites) {
            AtomicReference<BundleSet> at = new AtomicReference<>(set);
            bundlesAt.put(s, at);
            verifierAt.put(s, new X509SvidVerifier(pki.roots(), td -> at.get().bundleFor(td), Clock.systemUTC(),
                    Duration.ofSeconds(30)));
        }
    }

    /**
     * In the bundles of each of {@code atSites}, replaces {@code site}'s intermediate by a new one (a rotation that
     * drops the old CA: everything it signed, such as {@code site}'s running gateway SVID, is revoked there).
     */
    public void revoke(String site, String... atSites) {
        CaCredential replacement = pki.intermediate(trustDomain(site).name());
        for (String at : atSites) {
            bundlesAt.get(at).updateAndGet(set -> {
                TrustBundle old = set.bundleFor(trustDomain(site)).orElseThrow();
                return set.with(old.withX509Authorities(List.of(replacement.certificate()), old.sequence() + 1));
            });
        }
    }

    /** A second intermediate of {@code site}'s trust domain, added to every site's bundle of that trust domain. */
    public CaCredential addIntermediate(String site) {
        CaCredential extra = pki.intermediate(trustDomain(site).name());
        bundlesAt.values().forEach(at -> at.updateAndGet(set -> {
            TrustBundle old = set.bundleFor(trustDomain(site)).orElseThrow();
            List<java.security.cert.X509Certificate> authorities = new ArrayList<>(old.x509Authorities());
            authorities.add(extra.certificate());
            return set.with(old.withX509Authorities(authorities, old.sequence() + 1));
        }));
        return extra;
    }

    /** Removes the intermediate {@code ca} of {@code site}'s trust domain from the bundles of each of {@code atSites}. */
    public void revoke(String site, CaCredential ca, String... atSites) {
        for (String at : atSites) {
            bundlesAt.get(at).updateAndGet(set -> {
                TrustBundle old = set.bundleFor(trustDomain(site)).orElseThrow();
                List<java.security.cert.X509Certificate> authorities = new ArrayList<>(old.x509Authorities());
                authorities.remove(ca.certificate());
                return set.with(old.withX509Authorities(authorities, old.sequence() + 1));
            });
        }
    }

    /** {@code site}'s settings with only {@code peers} as its peer sites (a membership that lacks the others). */
    public SiteSettings settingsWithPeers(String site, String... peers) {
        return settings.get(site).withPeers(peerSites(site, peers));
    }

    /** {@code peers} as {@code site} would know them (bridge addresses and trust domains of this federation). */
    public Map<String, PeerSite> peerSites(String site, String... peers) {
        Map<String, PeerSite> out = new LinkedHashMap<>();
        for (String p : peers) {
            PeerSite known = settings.values().stream().filter(x -> !x.site().equals(p))
                    .map(x -> x.peers().get(p)).filter(java.util.Objects::nonNull).findFirst().orElseThrow();
            out.put(p, known);
        }
        return out;
    }

    /**
     * Gives each of {@code atSites} {@code site}'s bundle as {@code site} itself holds it (after {@link #forget}: the
     * bundle fetch that had not succeeded yet does).
     */
    public void learn(String site, String... atSites) {
        TrustBundle own = bundlesAt.get(site).get().bundleFor(trustDomain(site)).orElseThrow();
        for (String at : atSites) {
            bundlesAt.get(at).updateAndGet(set -> set.with(own));
        }
    }

    /** Drops {@code site}'s bundle from the bundles of each of {@code atSites} (it left the federation there). */
    public void forget(String site, String... atSites) {
        for (String at : atSites) {
            bundlesAt.get(at).updateAndGet(set -> set.without(trustDomain(site)));
        }
    }

    /** The verifier of {@code site}: its own bundles (see {@link #revoke}). */
    public X509SvidVerifier verifierAt(String site) {
        return verifierAt.get(site);
    }

    public static TrustDomain trustDomain(String site) {
        return new TrustDomain(site + ".acme.internal");
    }

    public static X509Svid gatewaySvid(CaCredential ca, String site) {
        return TestCa.svid(ca, gatewayId(site).toString());
    }

    /** Every site of this federation as the owner of its keys: its trust domain and its gateway identity. */
    public Map<String, OwnerTrust> owners() {
        Map<String, OwnerTrust> out = new LinkedHashMap<>();
        for (String s : settings.keySet()) {
            out.put(s, new OwnerTrust(s, trustDomain(s), java.util.Set.of(gatewayId(s))));
        }
        return out;
    }

    /** Whether {@code id} is the gateway identity of one of this federation's sites. */
    public boolean isGateway(io.isthmus.trust.spiffe.SpiffeId id) {
        return settings.keySet().stream().anyMatch(s -> gatewayId(s).equals(id));
    }

    public static io.isthmus.trust.spiffe.SpiffeId gatewayId(String site) {
        return io.isthmus.trust.spiffe.SpiffeId.parse("spiffe://" + trustDomain(site).name() + "/ns/isthmus-system/sa/gateway");
    }

    /** The federation's PKI, to mint SVIDs (a workload's, a forger's) in tests. */
    public TestCa pki() {
        return pki;
    }

    /** The intermediate CA of {@code site}. */
    public CaCredential intermediate(String site) {
        return intermediates.get(site);
    }

    public SiteSettings settings(String site) {
        return settings.get(site);
    }

    public X509SvidVerifier verifier() {
        return verifier;
    }

    public ClusterIdentity identity(String site) {
        return new ClusterIdentity(site, new IngressAddress(site + ".gw.example", 15443), new Locality("region-" + site, "zone-" + site),
                Duration.ofSeconds(30), MeshName.DEFAULT_SUFFIX);
    }

    /** A fresh gateway SVID of {@code site}, issued by its intermediate under this federation's root. */
    public X509Svid svidOf(String site) {
        return gatewaySvid(intermediates.get(site), site);
    }

    public Site start(String site) {
        X509Svid svid = svidOf(site);
        return start(site, settings.get(site), svid);
    }

    /** Starts a node with the given settings and SVID under the name {@code handle} (for impostors). */
    public Site start(String handle, SiteSettings siteSettings, X509Svid svid) {
        return start(handle, siteSettings, svid, ChannelFactory.Timing.FAST);
    }

    /** As {@link #start(String, SiteSettings, X509Svid)}, with the given failure-detection and merge timing. */
    public Site start(String handle, SiteSettings siteSettings, X509Svid svid, ChannelFactory.Timing timing) {
        return start(handle, siteSettings, svid, timing, manager -> { });
    }

    /** As {@link #start(String, SiteSettings, X509Svid, ChannelFactory.Timing)}, defining other caches before it joins. */
    public Site start(String handle, SiteSettings siteSettings, X509Svid svid, ChannelFactory.Timing timing,
            java.util.function.Consumer<org.infinispan.manager.EmbeddedCacheManager> defineCaches) {
        X509SvidVerifier siteVerifier = verifierAt.getOrDefault(siteSettings.site(), verifier);
        RegistryNode node = RegistryNode.start(siteSettings, () -> svid, siteVerifier, this::isGateway, timing,
                defineCaches);
        Site s = new Site(handle, node, new InfinispanRegistry(node.registryCache(), identity(siteSettings.site()), clock,
                new SvidEntryTrust(() -> svid, siteVerifier, clock, owners())));
        running.put(handle, s);
        return s;
    }

    public void stop(String handle) {
        Site s = running.remove(handle);
        if (s != null) {
            s.registry().close();
            s.node().close();
        }
    }

    @Override
    public void close() {
        new ArrayList<>(running.keySet()).reversed().forEach(this::stop);
    }
}
