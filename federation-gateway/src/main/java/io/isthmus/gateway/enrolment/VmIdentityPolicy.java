package io.isthmus.gateway.enrolment;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Which SPIFFE IDs are VM identities this gateway may issue and renew: {@code spiffe://<own td>/ns/<ns>/sa/<sa>},
 * never in the gateway's own namespace (a VM must not be able to become a gateway), and only in the allowed
 * namespaces when a list is configured. Pure.
 */
public record VmIdentityPolicy(TrustDomain trustDomain, String reservedNamespace, Optional<List<String>> allowedNamespaces) {
    private static final Pattern SERVICE_ACCOUNT = Pattern.compile("/ns/([^/]+)/sa/([^/]+)");

    public VmIdentityPolicy {
        allowedNamespaces = allowedNamespaces.map(List::copyOf);
    }

    /** @return null when {@code id} is an acceptable VM identity, otherwise why not */
    public String check(SpiffeId id) {
        if (!id.memberOf(trustDomain)) {
            return id + " is not in this cluster's trust domain " + trustDomain;
        }
        Matcher m = SERVICE_ACCOUNT.matcher(id.path());
        if (!m.matches()) {
            return id + " is not of the form spiffe://" + trustDomain + "/ns/<namespace>/sa/<service account>";
        }
        String ns = m.group(1);
        if (ns.equals(reservedNamespace)) {
            return id + " is in the gateway's own namespace " + reservedNamespace + ", which VMs may not join";
        }
        if (allowedNamespaces.isPresent() && !allowedNamespaces.get().contains(ns)) {
            return "namespace " + ns + " of " + id + " is not in isthmus.enrolment.allowed-namespaces "
                    + allowedNamespaces.get();
        }
        return null;
    }
}
