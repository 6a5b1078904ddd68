package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/** Whether a bundle fetched from a peer may be installed, given the peer in force when it arrives. */
class FetchedBundleTest {
    private static final TrustDomain X = new TrustDomain("x.acme.internal");
    private static final PeerConfig FETCHED = new PeerConfig("cluster-x", X, URI.create("https://x.example:8443/"),
            Optional.empty());

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("still the same peer", Optional.of(FETCHED), null, null),
                Arguments.of("the same peer, configured again (an equal config)", Optional.of(new PeerConfig("cluster-x", X,
                        URI.create("https://x.example:8443/"), Optional.empty())), null, null),
                Arguments.of("removed from the federation", Optional.empty(), FetchedBundle.Reason.REMOVED,
                        "peer cluster-x (x.acme.internal) left the federation while its bundle was being fetched from "
                                + "https://x.example:8443/; the bundle is not installed and its SVIDs stay refused"),
                Arguments.of("its endpoint moved", Optional.of(new PeerConfig("cluster-x", X,
                        URI.create("https://x2.example:8443/"), Optional.empty())), FetchedBundle.Reason.REPLACED,
                        "peer cluster-x (x.acme.internal) changed while its bundle was being fetched from "
                                + "https://x.example:8443/; it is now cluster-x at https://x2.example:8443/, which is "
                                + "polled instead"),
                Arguments.of("renamed", Optional.of(new PeerConfig("cluster-x-new", X, URI.create("https://x.example:8443/"),
                        Optional.empty())), FetchedBundle.Reason.REPLACED, "it is now cluster-x-new at"),
                Arguments.of("its endpoint identity now pinned", Optional.of(new PeerConfig("cluster-x", X,
                        URI.create("https://x.example:8443/"), Optional.of(SpiffeId.parse(
                                "spiffe://x.acme.internal/ns/isthmus-system/sa/isthmus-gateway")))),
                        FetchedBundle.Reason.REPLACED, "changed while its bundle was being fetched"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String row, Optional<PeerConfig> now, FetchedBundle.Reason reason, String detail) {
        FetchedBundle.Verdict v = FetchedBundle.decide(FETCHED, now);
        if (reason == null) {
            assertThat(v).as(row).isInstanceOf(FetchedBundle.Verdict.Install.class);
            return;
        }
        assertThat(v).as(row).isInstanceOfSatisfying(FetchedBundle.Verdict.Discard.class, d -> {
            assertThat(d.reason()).isEqualTo(reason);
            assertThat(d.detail()).contains(detail);
        });
    }
}
