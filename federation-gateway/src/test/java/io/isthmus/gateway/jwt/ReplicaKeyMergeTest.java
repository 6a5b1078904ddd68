package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.jwt.ReplicaKeyMerge.Merged;
import io.isthmus.gateway.jwt.ReplicaKeyMerge.Reason;
import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.spiffe.TrustDomain;

/** The merge of the replicas' JWT keys into one bundle key set: one row per rule. */
class ReplicaKeyMergeTest {
    private static final TrustDomain TD = new TrustDomain("a.test");
    private static final Instant NOW = Instant.parse("2026-12-05T04:00:00Z");
    private static final Instant LIVE = NOW.plusSeconds(60);

    private final JwtAuthority mine = key("k-mine");
    private final JwtAuthority b1 = key("k-b1");
    private final JwtAuthority c1 = key("k-c1");

    private static JwtAuthority key(String kid) {
        return new JwtAuthority(kid, JwtSigningKey.generate().keys().getPublic());
    }

    private static String entry(String replica, Instant expires, JwtAuthority... keys) {
        return new ReplicaKeys(replica, List.of(keys), expires).toJson(TD);
    }

    private static Merged merge(List<JwtAuthority> own, Map<String, String> entries) {
        return ReplicaKeyMerge.merge(TD, "a", own, entries, NOW);
    }

    private static List<String> kids(Merged m) {
        return m.keys().stream().map(JwtAuthority::keyId).toList();
    }

    @Test
    void theUnionOfLiveReplicasIsPublishedSortedByKid() {
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("c", entry("c", LIVE, c1));
        entries.put("b", entry("b", LIVE, b1));
        Merged m = merge(List.of(mine), entries);
        assertThat(kids(m)).containsExactly("k-b1", "k-c1", "k-mine");
        assertThat(m.refused()).isEmpty();
        // Same content in another map order: same result.
        Map<String, String> reversed = new LinkedHashMap<>();
        reversed.put("b", entries.get("b"));
        reversed.put("c", entries.get("c"));
        assertThat(merge(List.of(mine), reversed).keys()).isEqualTo(m.keys());
    }

    @Test
    void ownEntryInTheCacheIsIgnoredInFavourOfTheRing() {
        Merged m = merge(List.of(mine), Map.of("a", entry("a", LIVE, b1)));
        assertThat(kids(m)).containsExactly("k-mine");
    }

    @Test
    void theSameKeyFromTwoReplicasIsOneKey() {
        // A restarted replica's stale entry (old address) next to its new one.
        Merged m = merge(List.of(mine), Map.of("b", entry("b", LIVE, b1), "b2", entry("b2", LIVE, b1)));
        assertThat(kids(m)).containsExactly("k-b1", "k-mine");
        assertThat(m.refused()).isEmpty();
        assertThat(merge(List.of(mine), Map.of("b", entry("b", LIVE, mine))).keys()).containsExactly(mine);
    }

    @Test
    void anExpiredEntryIsDroppedWithoutAWarning() {
        Merged m = merge(List.of(mine), Map.of("b", entry("b", NOW, b1), "c", entry("c", NOW.plusMillis(1), c1)));
        assertThat(kids(m)).containsExactly("k-c1", "k-mine");
        assertThat(m.expired()).containsExactly("b");
        assertThat(m.refused()).isEmpty();
    }

    @Test
    void anEntryWithAPrivatePartIsRefused() {
        String leaked = entry("b", LIVE, b1).replace("\"kid\":", "\"d\":\"c2VjcmV0\",\"kid\":");
        Merged m = merge(List.of(mine), Map.of("b", leaked));
        assertThat(kids(m)).containsExactly("k-mine");
        assertThat(m.refused()).singleElement().satisfies(r -> {
            assertThat(r.replica()).isEqualTo("b");
            assertThat(r.reason()).isEqualTo(Reason.PRIVATE_KEY_PUBLISHED);
            assertThat(r.detail()).contains("'d'").contains("k-b1");
            // What the WARN says: the replica, the rule, the input.
            assertThat(r.toString()).startsWith("replica b's JWT key entry carries a private key parameter");
        });
    }

    @Test
    void twoReplicasClaimingOneKidWithDifferentKeysAreBothRefused() {
        JwtAuthority other = new JwtAuthority("k-b1", JwtSigningKey.generate().keys().getPublic());
        Merged m = merge(List.of(mine), Map.of("b", entry("b", LIVE, b1), "c", entry("c", LIVE, other, c1)));
        assertThat(kids(m)).containsExactly("k-c1", "k-mine");
        assertThat(m.refused()).extracting(ReplicaKeyMerge.Refused::replica).containsExactly("b", "c");
        assertThat(m.refused()).allSatisfy(r -> assertThat(r.reason()).isEqualTo(Reason.KID_CONFLICT));
    }

    @Test
    void aForeignClaimOfThisReplicasKidIsRefusedAndTheOwnKeyStays() {
        JwtAuthority impostor = new JwtAuthority("k-mine", JwtSigningKey.generate().keys().getPublic());
        Merged m = merge(List.of(mine), Map.of("b", entry("b", LIVE, impostor)));
        assertThat(m.keys()).containsExactly(mine);
        assertThat(m.refused()).singleElement().satisfies(r -> assertThat(r.reason()).isEqualTo(Reason.KID_CONFLICT));
    }

    @Test
    void malformedEntriesAreRefusedWithTheirReason() throws Exception {
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        JwtAuthority rsaKey = new JwtAuthority("k-rsa", rsa.generateKeyPair().getPublic());
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("b", "{not json");
        entries.put("c", entry("someone-else", LIVE, c1));
        entries.put("d", entry("d", LIVE, rsaKey));
        entries.put("e", entry("e", LIVE, key("k-e")).replace("\"kid\":\"k-e\",", ""));
        entries.put("f", entry("f", LIVE, key("k-f")).replace(LIVE.toString(), "tomorrow"));
        entries.put("g", "[]");
        entries.put("h", new ReplicaKeys("h", List.of(key("k-h")), LIVE).toJson(new TrustDomain("b.test")));
        entries.put("i", entry("i", LIVE, key("k-i")).replace(",\"trust_domain\":\"a.test\"", ""));
        Merged m = merge(List.of(mine), entries);
        assertThat(kids(m)).containsExactly("k-mine");
        assertThat(m.refused()).extracting(ReplicaKeyMerge.Refused::replica, ReplicaKeyMerge.Refused::reason)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("b", Reason.MALFORMED),
                        org.assertj.core.groups.Tuple.tuple("c", Reason.REPLICA_MISMATCH),
                        org.assertj.core.groups.Tuple.tuple("d", Reason.NOT_P256),
                        org.assertj.core.groups.Tuple.tuple("e", Reason.MALFORMED),
                        org.assertj.core.groups.Tuple.tuple("f", Reason.MALFORMED),
                        org.assertj.core.groups.Tuple.tuple("g", Reason.MALFORMED),
                        org.assertj.core.groups.Tuple.tuple("h", Reason.FOREIGN_TRUST_DOMAIN),
                        org.assertj.core.groups.Tuple.tuple("i", Reason.FOREIGN_TRUST_DOMAIN));
        assertThat(m.refused().get(6).detail()).contains("'b.test'").contains("expected 'a.test'");
        assertThat(m.refused().get(4).detail()).contains("'tomorrow'");
        assertThat(m.refused().get(3).detail()).contains("kid is required");
    }

    @Test
    void whereEachLiveReplicaStandsInTheRotationIsReadFromItsEntry() {
        ReplicaRotation state = new ReplicaRotation(4, "k-b1", Optional.of("k-b2"), List.of(
                new ReplicaRotation.Retiring("k-b0", LIVE)), Optional.of("waits to be federated"));
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("b", new ReplicaKeys("b", List.of(b1), LIVE, Optional.of(state)).toJson(TD));
        entries.put("c", entry("c", LIVE, c1));
        entries.put("d", entry("d", NOW, key("k-d")));
        entries.put("e", new ReplicaKeys("e", List.of(key("k-e")), LIVE, Optional.of(state)).toJson(TD)
                .replace("\"applied\":4", "\"applied\":\"four\""));
        Merged m = merge(List.of(mine), entries);
        // An older gateway's entry says nothing (empty); an expired or refused one is not a live replica.
        assertThat(m.rotations()).containsOnly(Map.entry("b", Optional.of(state)), Map.entry("c", Optional.empty()));
        assertThat(m.refused()).singleElement().satisfies(r -> {
            assertThat(r.reason()).isEqualTo(Reason.MALFORMED);
            assertThat(r.detail()).contains("'applied'").contains("\"four\"");
        });
    }

    @Test
    void anEntryRoundTripsThroughItsJson() {
        Merged m = merge(List.of(), Map.of("b", entry("b", LIVE, b1, c1)));
        assertThat(m.keys()).containsExactly(b1, c1);
    }
}
