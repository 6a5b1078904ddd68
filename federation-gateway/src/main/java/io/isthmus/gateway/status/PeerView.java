package io.isthmus.gateway.status;

import java.util.List;
import java.util.Objects;

/**
 * One federated peer as this gateway sees it: its bundle sync, the CAs it holds for it, whether its ingress answers
 * as a gateway of its trust domain, and how far its clock is from this gateway's.
 *
 * @param bundlePem the CA certificates of the peer's bundle in force here, PEM (empty before the first one)
 */
public record PeerView(String name, String trustDomain, String bundleEndpointUrl, SyncView sync,
        List<String> bundlePem, ProbeView ingress, ClockView clock) {
    public PeerView {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(bundleEndpointUrl, "bundleEndpointUrl");
        Objects.requireNonNull(sync, "sync");
        bundlePem = List.copyOf(bundlePem);
        Objects.requireNonNull(ingress, "ingress");
        Objects.requireNonNull(clock, "clock");
    }
}
