package io.isthmus.registry.signing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import io.isthmus.registry.EntryVersion;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryRecord;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.signing.EntryVerdict.Accepted;
import io.isthmus.registry.signing.EntryVerdict.Refused;
import io.isthmus.registry.store.EntryCodec;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.TestCa;

/**
 * The trust decision on a received registry record, row by row: who signed it, with what key, over which bytes, when,
 * and whether it is older than what is held. Real PKI (one root, a constrained intermediate per cluster), real
 * signatures, the production SVID verifier.
 */
class EntryVerifierTest {
    private static final Instant NOW = Instant.now();
    private static final Duration SKEW = Duration.ofSeconds(30);
    private static final TrustDomain EAST = new TrustDomain("east.acme.internal");
    private static final TrustDomain WEST = new TrustDomain("west.acme.internal");
    private static final SpiffeId EAST_GW = SpiffeId.parse("spiffe://east.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
    private static final SpiffeId WEST_GW = SpiffeId.parse("spiffe://west.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
    private static final ServiceKey KEY = new ServiceKey("east", "shop", "payments");

    /** The PKI was made three hours ago, so that an SVID of two hours ago is expired now but was valid then. */
    private final TestCa pki = TestCa.create(Clock.fixed(NOW.minus(Duration.ofHours(3)), ZoneOffset.UTC));
    private final CaCredential eastCa = pki.intermediate(EAST.name());
    private final CaCredential westCa = pki.intermediate(WEST.name());
    private final AtomicReference<BundleSet> bundles = new AtomicReference<>(BundleSet.of(List.of(
            new TrustBundle(EAST, List.of(eastCa.certificate()), List.of(), 1, Optional.empty()),
            new TrustBundle(WEST, List.of(westCa.certificate()), List.of(), 1, Optional.empty()))));
    private final X509SvidVerifier svids = new X509SvidVerifier(pki.roots(), td -> bundles.get().bundleFor(td),
            Clock.fixed(NOW, ZoneOffset.UTC), SKEW);
    private final Map<String, OwnerTrust> owners = Map.of("east", new OwnerTrust("east", EAST, Set.of(EAST_GW)),
            "west", new OwnerTrust("west", WEST, Set.of(WEST_GW)));
    private final X509Svid eastGateway = TestCa.svid(eastCa, EAST_GW.toString(), Clock.fixed(NOW, ZoneOffset.UTC));

    private static ExportedService entry(long revision, Instant at, int ingressPort) {
        return new ExportedService(KEY, List.of(new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(SpiffeId.parse("spiffe://east.acme.internal/ns/shop/sa/payments")),
                new IngressAddress("east.gw.example", ingressPort), new Locality("eu", "eu-1a"), 2, revision, at,
                Duration.ofSeconds(30));
    }

    private static RegistryRecord live(long revision, Instant at) {
        return new RegistryRecord.Live(entry(revision, at, 15443), at);
    }

    /** What a gateway holding {@code svid} writes into the cache for {@code record}, read back as a site reads it. */
    private static SignedRecord signed(RegistryRecord record, X509Svid svid) {
        String json = EntryCodec.encodeRecord(record);
        byte[] sig = EntrySignatures.sign(svid.key(), json.getBytes(StandardCharsets.UTF_8));
        return EntryCodec.parseValue(EntryCodec.envelope(json, Optional.of(new EntrySignature(svid.leaf(), sig))));
    }

    private EntryVerdict verify(String cacheKey, SignedRecord received, Optional<String> writer, Optional<EntryVersion> held) {
        Function<List<java.security.cert.X509Certificate>, io.isthmus.trust.svid.SvidVerdict> chain = svids::verifyEstablished;
        return EntryVerifier.verify(cacheKey, received, Optional.ofNullable(owners.get(received.record().key().cluster())),
                writer, held, chain, NOW, SKEW);
    }

    private EntryVerdict verify(SignedRecord received) {
        return verify(KEY.toString(), received, Optional.of("east"), Optional.empty());
    }

    private static EntryRefusal reason(EntryVerdict v) {
        assertThat(v).isInstanceOf(Refused.class);
        return ((Refused) v).reason();
    }

    @Test
    void acceptsAnExportSignedByTheOwnersGateway() {
        EntryVerdict v = verify(signed(live(3, NOW), eastGateway));
        assertThat(v).isInstanceOf(Accepted.class);
        assertThat(((Accepted) v).signer()).contains(EAST_GW);
    }

    @Test
    void acceptsARemovalSignedByTheOwnersGateway() {
        assertThat(verify(signed(new RegistryRecord.Tombstone(KEY, 4, NOW), eastGateway))).isInstanceOf(Accepted.class);
    }

    @Test
    void acceptsAnEntrySignedByAnSvidThatHasSinceExpired() {
        Instant then = NOW.minus(Duration.ofHours(2));
        X509Svid old = TestCa.svid(eastCa, EAST_GW.toString(), Clock.fixed(then, ZoneOffset.UTC));
        assertThat(old.notAfter()).isBefore(NOW);
        assertThat(verify(signed(live(1, then.plusSeconds(60)), old))).isInstanceOf(Accepted.class);
    }

    @Test
    void refusesAnEntrySignedByAWorkloadOfTheOwnersTrustDomain() {
        X509Svid workload = TestCa.svid(eastCa, "spiffe://east.acme.internal/ns/shop/sa/payments");
        Refused v = (Refused) verify(signed(live(3, NOW), workload));
        assertThat(v.reason()).isEqualTo(EntryRefusal.NOT_A_GATEWAY);
        assertThat(v.message()).contains("spiffe://east.acme.internal/ns/shop/sa/payments", "east/shop/payments");
    }

    @Test
    void refusesAnEntrySignedByAnotherClustersGateway() {
        X509Svid west = TestCa.svid(westCa, WEST_GW.toString());
        Refused v = (Refused) verify(signed(live(3, NOW), west));
        assertThat(v.reason()).isEqualTo(EntryRefusal.FOREIGN_SIGNER);
        assertThat(v.message()).contains(WEST_GW.toString(), "east.acme.internal");
    }

    @Test
    void refusesARemovalForgedByAnotherClustersGateway() {
        X509Svid west = TestCa.svid(westCa, WEST_GW.toString());
        assertThat(reason(verify(signed(new RegistryRecord.Tombstone(KEY, 9, NOW), west))))
                .isEqualTo(EntryRefusal.FOREIGN_SIGNER);
    }

    @Test
    void refusesAnEntrySignedUnderACaThatIsNotInTheOwnersBundle() {
        CaCredential rogue = pki.intermediate(EAST.name()); // under the root, name-constrained, but never published
        assertThat(reason(verify(signed(live(3, NOW), TestCa.svid(rogue, EAST_GW.toString())))))
                .isEqualTo(EntryRefusal.SIGNER_NOT_TRUSTED);
    }

    @Test
    void refusesAnEntryOnceItsSignersCaLeftTheOwnersBundle() {
        SignedRecord received = signed(live(3, NOW), eastGateway);
        assertThat(verify(received)).isInstanceOf(Accepted.class);
        CaCredential next = pki.intermediate(EAST.name());
        bundles.updateAndGet(set -> set.with(set.bundleFor(EAST).orElseThrow()
                .withX509Authorities(List.of(next.certificate()), 2)));
        assertThat(reason(verify(received))).isEqualTo(EntryRefusal.SIGNER_NOT_TRUSTED);
    }

    @Test
    void refusesAReplayOfAnOlderVersion() {
        SignedRecord old = signed(live(3, NOW.minusSeconds(20)), eastGateway);
        EntryVersion held = new EntryVersion(3, NOW);
        Refused v = (Refused) verify(KEY.toString(), old, Optional.of("east"), Optional.of(held));
        assertThat(v.reason()).isEqualTo(EntryRefusal.REPLAYED);
        // A replayed export cannot undo a newer removal either.
        assertThat(reason(verify(KEY.toString(), signed(live(3, NOW), eastGateway), Optional.of("east"),
                Optional.of(new EntryVersion(4, NOW.minusSeconds(5)))))).isEqualTo(EntryRefusal.REPLAYED);
        // The same version again (a re-delivery) is no replay.
        assertThat(verify(KEY.toString(), signed(live(3, NOW), eastGateway), Optional.of("east"), Optional.of(held)))
                .isInstanceOf(Accepted.class);
    }

    @Test
    void refusesAnEntryWhoseFieldWasChangedAfterSigning() {
        String json = EntryCodec.encodeRecord(live(3, NOW));
        byte[] sig = EntrySignatures.sign(eastGateway.key(), json.getBytes(StandardCharsets.UTF_8));
        String tampered = json.replace("\"ingressPort\":15443", "\"ingressPort\":15444");
        assertThat(tampered).isNotEqualTo(json);
        SignedRecord received = EntryCodec.parseValue(EntryCodec.envelope(tampered,
                Optional.of(new EntrySignature(eastGateway.leaf(), sig))));
        assertThat(reason(verify(received))).isEqualTo(EntryRefusal.BAD_SIGNATURE);
    }

    @Test
    void refusesAnUnsignedEntry() {
        SignedRecord unsigned = EntryCodec.parseValue(EntryCodec.envelope(EntryCodec.encodeRecord(live(3, NOW)),
                Optional.empty()));
        assertThat(reason(verify(unsigned))).isEqualTo(EntryRefusal.UNSIGNED);
    }

    @Test
    void refusesAnEntryFromAGatewayOlderThanSignedEntries() {
        // The value an older gateway writes: the entry's fields at the top level, no envelope.
        SignedRecord legacy = EntryCodec.parseValue(EntryCodec.encode(entry(3, NOW, 15443)));
        Refused v = (Refused) verify(legacy);
        assertThat(v.reason()).isEqualTo(EntryRefusal.UNSIGNED);
        assertThat(v.message()).contains("upgrade the gateway of cluster 'east'");
    }

    @Test
    void refusesAnEntryStoredUnderAnotherKey() {
        assertThat(reason(verify("east/shop/ledger", signed(live(3, NOW), eastGateway), Optional.of("east"),
                Optional.empty()))).isEqualTo(EntryRefusal.KEY_MISMATCH);
    }

    @Test
    void refusesAnEntryOfAClusterNobodyKnows() {
        ServiceKey stranger = new ServiceKey("north", "shop", "payments");
        ExportedService e = entry(1, NOW, 15443);
        ExportedService strangers = new ExportedService(stranger, e.ports(), List.of(), e.ingress(), e.locality(), 1, 1,
                NOW, e.lease());
        assertThat(reason(verify(stranger.toString(), signed(new RegistryRecord.Live(strangers, NOW), eastGateway),
                Optional.empty(), Optional.empty()))).isEqualTo(EntryRefusal.UNKNOWN_OWNER);
    }

    @Test
    void refusesAValidlySignedEntryWrittenByAnotherSite() {
        assertThat(reason(verify(KEY.toString(), signed(live(3, NOW), eastGateway), Optional.of("west"), Optional.empty())))
                .isEqualTo(EntryRefusal.WRITTEN_BY_OTHER_SITE);
    }

    @Test
    void refusesAnEntryDatedOutsideItsSignersValidity() {
        assertThat(reason(verify(signed(live(3, NOW.minus(Duration.ofHours(2))), eastGateway))))
                .isEqualTo(EntryRefusal.SIGNED_OUTSIDE_VALIDITY);
    }

    @Test
    void refusesAnEntryDatedInTheFuture() {
        assertThat(reason(verify(signed(live(3, NOW.plus(Duration.ofMinutes(5))), eastGateway))))
                .isEqualTo(EntryRefusal.FROM_THE_FUTURE);
    }

    // Site heartbeats: one signed record per round renews the leases of all of a cluster's entries.

    private static final ServiceKey HEARTBEAT = RegistryRecord.heartbeatKey("east");

    private static RegistryRecord heartbeat(Instant at) {
        return new RegistryRecord.SiteHeartbeat("east", at, at.minusSeconds(120));
    }

    private EntryVerdict verifyHeartbeat(SignedRecord received, Optional<String> writer, Optional<EntryVersion> held) {
        return verify(HEARTBEAT.toString(), received, writer, held);
    }

    @Test
    void acceptsAHeartbeatSignedByTheOwnersGateway() {
        EntryVerdict v = verifyHeartbeat(signed(heartbeat(NOW), eastGateway), Optional.of("east"), Optional.empty());
        assertThat(v).isInstanceOfSatisfying(Accepted.class,
                a -> assertThat(a.record()).isInstanceOf(RegistryRecord.SiteHeartbeat.class));
    }

    @Test
    void refusesAReplayedHeartbeat() {
        SignedRecord old = signed(heartbeat(NOW.minusSeconds(30)), eastGateway);
        Refused v = (Refused) verifyHeartbeat(old, Optional.of("east"), Optional.of(new EntryVersion(1, NOW)));
        assertThat(v.reason()).isEqualTo(EntryRefusal.REPLAYED);
        assertThat(v.message()).contains("heartbeat of cluster 'east'");
    }

    @Test
    void refusesAHeartbeatForAClusterSignedByAnotherClustersGateway() {
        X509Svid west = TestCa.svid(westCa, WEST_GW.toString());
        assertThat(reason(verifyHeartbeat(signed(heartbeat(NOW), west), Optional.of("east"), Optional.empty())))
                .isEqualTo(EntryRefusal.FOREIGN_SIGNER);
    }

    @Test
    void refusesAHeartbeatWrittenByASiteThatDoesNotOwnIt() {
        assertThat(reason(verifyHeartbeat(signed(heartbeat(NOW), eastGateway), Optional.of("west"), Optional.empty())))
                .isEqualTo(EntryRefusal.WRITTEN_BY_OTHER_SITE);
    }

    @Test
    void refusesAHeartbeatFromAWorkloadOfTheOwnersTrustDomain() {
        X509Svid workload = TestCa.svid(eastCa, "spiffe://east.acme.internal/ns/shop/sa/payments");
        assertThat(reason(verifyHeartbeat(signed(heartbeat(NOW), workload), Optional.of("east"), Optional.empty())))
                .isEqualTo(EntryRefusal.NOT_A_GATEWAY);
    }

    @Test
    void refusesAHeartbeatWhoseCoverageWasWidenedAfterSigning() {
        String json = EntryCodec.encodeRecord(heartbeat(NOW));
        byte[] sig = EntrySignatures.sign(eastGateway.key(), json.getBytes(StandardCharsets.UTF_8));
        String widened = json.replace(NOW.minusSeconds(120).toString(), NOW.minus(Duration.ofDays(30)).toString());
        assertThat(widened).isNotEqualTo(json);
        SignedRecord received = EntryCodec.parseValue(EntryCodec.envelope(widened,
                Optional.of(new EntrySignature(eastGateway.leaf(), sig))));
        assertThat(reason(verifyHeartbeat(received, Optional.of("east"), Optional.empty())))
                .isEqualTo(EntryRefusal.BAD_SIGNATURE);
    }

    @Test
    void refusesAHeartbeatStoredUnderAnotherClustersKey() {
        assertThat(reason(verify(RegistryRecord.heartbeatKey("west").toString(), signed(heartbeat(NOW), eastGateway),
                Optional.of("east"), Optional.empty()))).isEqualTo(EntryRefusal.KEY_MISMATCH);
    }

    @Test
    void aHeartbeatCannotVouchForEntriesSignedAfterIt() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new RegistryRecord.SiteHeartbeat("east", NOW,
                NOW.plusSeconds(1))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("coversSince");
    }

    @Test
    void noExportOrRemovalCanTakeTheHeartbeatsNamespace() {
        ExportedService e = entry(1, NOW, 15443);
        ExportedService squatter = new ExportedService(HEARTBEAT, e.ports(), e.identities(), e.ingress(), e.locality(), 1,
                1, NOW, e.lease());
        String json = EntryCodec.encodeRecord(new RegistryRecord.Live(squatter, NOW));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> EntryCodec.parseValue(EntryCodec.envelope(json,
                Optional.empty()))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("own namespace");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RegistryRecord.requireExportable(HEARTBEAT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("_isthmus");
    }
}
