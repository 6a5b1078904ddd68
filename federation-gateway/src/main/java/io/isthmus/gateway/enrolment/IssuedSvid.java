package io.isthmus.gateway.enrolment;

import java.security.cert.X509Certificate;
import java.util.List;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.spiffe.SpiffeId;

/** What an enrolment or renewal hands back: the SVID chain (leaf first) and the federation's bundles. */
public record IssuedSvid(SpiffeId id, List<X509Certificate> chain, BundleSet bundles) {
    public IssuedSvid {
        chain = List.copyOf(chain);
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }
}
