package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.infinispan.container.versioning.irac.IracEntryVersion;
import org.infinispan.container.versioning.irac.TopologyIracVersion;
import org.infinispan.metadata.impl.IracMetadata;
import org.infinispan.util.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which cross-site writes of the registry cache a site takes from a peer (IracVersionForgeryTest). */
class OwnerWritesTest {
    private static IracEntryVersion vector(Object... stc) {
        IracEntryVersion v = null;
        for (int i = 0; i < stc.length; i += 3) {
            IracEntryVersion part = IracEntryVersion.newVersion(
                    ByteString.fromString((String) stc[i]),
                    TopologyIracVersion.create((Integer) stc[i + 1], (Long) stc[i + 2]));
            v = v == null ? part : v.merge(part);
        }
        return v;
    }

    private static IracMetadata by(String site, IracEntryVersion version) {
        return new IracMetadata(site, version);
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("another cluster's key, with that cluster's version above all it will write",
                        "cluster-a", "cluster-b/billing/ledger",
                        by("cluster-b", vector("cluster-b", Integer.MAX_VALUE, Long.MAX_VALUE)),
                        OwnerWrites.Reason.ANOTHER_SITES_KEY),
                Arguments.of("another cluster's key, with a concurrent version of the sender's",
                        "cluster-a", "cluster-b/billing/ledger",
                        by("cluster-a", vector("cluster-a", Integer.MAX_VALUE, Long.MAX_VALUE)),
                        OwnerWrites.Reason.ANOTHER_SITES_KEY),
                Arguments.of("another cluster's heartbeat", "cluster-a", "cluster-b/_isthmus/heartbeat",
                        by("cluster-b", vector("cluster-b", 3, 9L)), OwnerWrites.Reason.ANOTHER_SITES_KEY),
                Arguments.of("a key that is not a registry key", "cluster-a", "no-cluster",
                        by("cluster-a", vector("cluster-a", 3, 9L)), OwnerWrites.Reason.NOT_A_REGISTRY_KEY),
                Arguments.of("a key with an empty cluster", "cluster-a", "/billing/ledger",
                        by("cluster-a", vector("cluster-a", 3, 9L)), OwnerWrites.Reason.NOT_A_REGISTRY_KEY),
                Arguments.of("a key that is not text", "cluster-a", 42,
                        by("cluster-a", vector("cluster-a", 3, 9L)), OwnerWrites.Reason.NOT_A_REGISTRY_KEY),
                Arguments.of("its own key without a version", "cluster-a", "cluster-a/billing/ledger", null,
                        OwnerWrites.Reason.NO_VERSION),
                Arguments.of("its own key, written by another site", "cluster-a", "cluster-a/billing/ledger",
                        by("cluster-b", vector("cluster-a", 3, 9L, "cluster-b", 4, 2L)),
                        OwnerWrites.Reason.WRITTEN_BY_ANOTHER_SITE),
                Arguments.of("its own key, without a count of its own", "cluster-a", "cluster-a/billing/ledger",
                        by("cluster-a", vector("cluster-b", 4, 2L)), OwnerWrites.Reason.NO_OWN_COUNT));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void refusesWhatOnlyTheKeysOwnerMayWrite(String what, String origin, Object key, IracMetadata version,
            OwnerWrites.Reason reason) {
        assertThat(OwnerWrites.judge(origin, "cluster-c", key, version)).as(what).isInstanceOfSatisfying(
                OwnerWrites.Refuse.class,
                r -> assertThat(r.reason()).isEqualTo(reason));
    }

    @Test
    void takesTheSendersOwnKeyWithItsOwnVersion() {
        IracMetadata version = by("cluster-a", vector("cluster-a", 3, 9L));
        assertThat(OwnerWrites.judge("cluster-a", "cluster-c", "cluster-a/billing/ledger", version))
                .isEqualTo(new OwnerWrites.Admit(version));
    }

    /**
     * A genuine vector also counts the other sites' writes that its sender saw in the key's segment. Only the sender's
     * own count is kept: a peer cannot raise through its own keys the counter another site keeps for its keys.
     */
    @Test
    void keepsOnlyTheSendersOwnCountOfAVector() {
        IracMetadata version = by("cluster-a", vector("cluster-a", 3, 9L, "cluster-b", Integer.MAX_VALUE,
                Long.MAX_VALUE - 1, "cluster-c", 2, 5L));
        assertThat(OwnerWrites.judge("cluster-a", "cluster-c", "cluster-a/billing/ledger", version))
                .isEqualTo(new OwnerWrites.Admit(by("cluster-a", vector("cluster-a", 3, 9L))));
    }

    @Test
    void aRemovalOfItsOwnKeyIsJudgedAlike() {
        IracMetadata tombstone = by("cluster-b", vector("cluster-b", 5, 1L));
        assertThat(OwnerWrites.judge("cluster-b", "cluster-c", "cluster-b/billing/ledger", tombstone))
                .isEqualTo(new OwnerWrites.Admit(tombstone));
        assertThat(OwnerWrites.judge("cluster-c", "cluster-a", "cluster-b/billing/ledger", tombstone))
                .isInstanceOf(OwnerWrites.Refuse.class);
    }

    static Stream<Arguments> stateTransfer() {
        IracMetadata ownCount = by("cluster-a", vector("cluster-a", 3, 9L));
        return Stream.of(
                Arguments.of("the sender's own key", "cluster-b", "cluster-b/billing/ledger",
                        by("cluster-b", vector("cluster-b", 4, 2L)), by("cluster-b", vector("cluster-b", 4, 2L))),
                Arguments.of("this site's own key pushed back: its count is learned", "cluster-b",
                        "cluster-a/billing/ledger", ownCount, ownCount),
                Arguments.of("this site's own key pushed back, written before by another site's version: only this"
                        + " site's part is kept", "cluster-b", "cluster-a/billing/ledger",
                        by("cluster-b", vector("cluster-a", 3, 9L, "cluster-b", 7, 1L)), ownCount),
                Arguments.of("a third site's key", "cluster-b", "cluster-c/billing/ledger",
                        by("cluster-c", vector("cluster-c", 4, 2L)), OwnerWrites.Reason.ANOTHER_SITES_KEY),
                Arguments.of("this site's own key at the highest count (the next would wrap)", "cluster-b",
                        "cluster-a/billing/ledger", by("cluster-a", vector("cluster-a", 3, Long.MAX_VALUE)),
                        OwnerWrites.Reason.IMPLAUSIBLE_COUNT),
                Arguments.of("this site's own key at the highest topology", "cluster-b", "cluster-a/billing/ledger",
                        by("cluster-a", vector("cluster-a", Integer.MAX_VALUE, 1L)),
                        OwnerWrites.Reason.IMPLAUSIBLE_COUNT),
                Arguments.of("this site's own key without its count", "cluster-b", "cluster-a/billing/ledger",
                        by("cluster-b", vector("cluster-b", 7, 1L)), OwnerWrites.Reason.NO_OWN_COUNT),
                Arguments.of("this site's own key without a version", "cluster-b", "cluster-a/billing/ledger", null,
                        OwnerWrites.Reason.NO_VERSION));
    }

    /** What cluster-a takes (the version it keeps), or why it refuses, when it joins and its peers push their state. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("stateTransfer")
    void judgesWhatPeersPushWhenThisSiteJoins(String what, String origin, Object key, IracMetadata version,
            Object expected) {
        OwnerWrites.Verdict verdict = OwnerWrites.judge(origin, "cluster-a", key, version);
        if (expected instanceof OwnerWrites.Reason reason) {
            assertThat(verdict).as(what).isInstanceOfSatisfying(OwnerWrites.Refuse.class,
                    r -> assertThat(r.reason()).isEqualTo(reason));
        } else {
            assertThat(verdict).as(what).isEqualTo(new OwnerWrites.Admit((IracMetadata) expected));
        }
    }
}
