package io.isthmus.gateway.membership;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.isthmus.gateway.proxy.ProxyService;
import io.isthmus.gateway.registry.RegistryService;
import io.isthmus.gateway.trust.TrustService;
import io.quarkus.runtime.Startup;

/**
 * Starts gossiping the membership once every part that applies it is up and listening (trust peers, registry sites,
 * ingress gateway identities), so that a document fetched at start is applied by all of them.
 */
@ApplicationScoped
@Startup
public class MembershipService {
    @Inject
    public MembershipService(TrustService trust, RegistryService registry, ProxyService proxy) {
        // Touch the beans: an @ApplicationScoped injection is a proxy, created on first use.
        registry.site();
        proxy.ingressAddress();
        trust.membership().start();
    }
}
