package io.isthmus.gateway.agent;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Whether a VM may register (or renew) a service name of its namespace, and whether the export under that name is a
 * VM's to remove. VM services are the ingress's first backends and their export carries the VM's identity, so a
 * service exported by another source of this cluster (a Kubernetes ServiceExport, the static configuration) must never
 * be taken over by a VM that happens to live in its namespace. An export is a VM's when a VM registration holds its
 * name and the export carries exactly that VM's identity; anything else exported under the name is another source's.
 * Pure.
 */
public final class VmServiceClaim {
    private VmServiceClaim() {
    }

    /** The answer to a registration. */
    public sealed interface Verdict {
    }

    /** The VM may register or renew. */
    public record Allowed() implements Verdict {
    }

    /** Refused with {@code code} (409) and a message naming the service and its holder. */
    public record Refused(VmServiceException.Code code, String message) implements Verdict {
    }

    /**
     * @param key the service, {@code <namespace>/<name>}
     * @param exported the identities of this cluster's current export under that name, if any
     * @param registration the VM registration held under that name, if any (expired or not)
     * @param vm the VM asking
     */
    public static Verdict register(String key, Optional<List<SpiffeId>> exported, Optional<VmServiceRecord> registration,
            SpiffeId vm, Instant now) {
        if (exported.isPresent() && !isVms(exported.get(), registration)) {
            return new Refused(VmServiceException.Code.EXPORTED_BY_ANOTHER_SOURCE, key + " is exported by this "
                    + "cluster's Kubernetes ServiceExport or configuration (identities " + exported.get() + "); a VM "
                    + "may register only names that no other source exports");
        }
        if (registration.isPresent() && !registration.get().owner().equals(vm) && !registration.get().expired(now)) {
            return new Refused(VmServiceException.Code.OWNED_BY_ANOTHER_VM, key + " is registered by "
                    + registration.get().owner() + " until " + registration.get().expiresAt());
        }
        return new Allowed();
    }

    /**
     * Whether the export under a registration's name (its identities, if any) is still that VM registration's, so that
     * removing the registration (expiry, or the VM's delete) may remove the export too.
     */
    public static boolean exportIsTheVms(Optional<List<SpiffeId>> exported, VmServiceRecord registration) {
        return exported.isPresent() && isVms(exported.get(), Optional.of(registration));
    }

    private static boolean isVms(List<SpiffeId> identities, Optional<VmServiceRecord> registration) {
        return registration.isPresent() && identities.equals(List.of(registration.get().owner()));
    }
}
