package io.isthmus.agent.egress;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Whether the VM's local egress opens TLS itself, with the VM's own SVID, straight to the destination workload
 * (passthrough: both gateways only route it by SNI and never see plaintext, so neither can speak for the VM), or
 * hands the request to its gateway as before. Decided from the registry: passthrough only to a port that a routable
 * export declares {@code mtls}, and only towards the identities those exports name (the VM must know whom it
 * talks to; a gateway answering instead fails the handshake). Pure.
 */
public final class PassthroughChoice {
    private PassthroughChoice() {
    }

    /** One port of an export, as the registry lists it ({@code protocol} lower case: http, tcp, mtls, ...). */
    public record Port(int port, String protocol) {
    }

    /** One cluster's export of the destination, as the gateway's registry API lists it. */
    public record Export(String cluster, boolean routable, List<Port> ports, List<String> identities) {
        public Export {
            ports = List.copyOf(ports);
            identities = List.copyOf(identities);
        }
    }

    public sealed interface Choice {
    }

    /** Send the request to the gateway's egress, which authenticates the VM and vouches for it. */
    public record ViaGateway() implements Choice {
    }

    /** Open TLS with the VM's SVID, server name {@code serverName}, accepting only {@code identities} as the server. */
    public record Passthrough(int port, String serverName, Set<SpiffeId> identities) implements Choice {
        public Passthrough {
            Objects.requireNonNull(serverName, "serverName");
            identities = Set.copyOf(identities);
        }
    }

    /** The destination declares passthrough but cannot be called that way; {@code detail} says why. */
    public record Refused(String detail) implements Choice {
    }

    /**
     * @param port the port the app named, or -1 when it named none (then port 80 if any export serves it over the
     *     gateway, else the one passthrough port the exports declare, if there is exactly one)
     */
    public static Choice choose(String service, String namespace, String suffix, int port, List<Export> exports) {
        List<Export> live = exports.stream().filter(Export::routable).toList();
        int chosen = port;
        if (chosen < 0) {
            boolean http80 = live.stream().flatMap(e -> e.ports().stream())
                    .anyMatch(p -> p.port() == 80 && !p.protocol().equals("mtls"));
            Set<Integer> mtls = new LinkedHashSet<>();
            live.forEach(e -> e.ports().stream().filter(p -> p.protocol().equals("mtls")).forEach(p -> mtls.add(p.port())));
            if (http80 || mtls.size() != 1) {
                return new ViaGateway();
            }
            chosen = mtls.iterator().next();
        }
        int p = chosen;
        List<Export> declaring = live.stream().filter(e -> e.ports().stream()
                .anyMatch(x -> x.port() == p && x.protocol().equals("mtls"))).toList();
        if (declaring.isEmpty()) {
            return new ViaGateway();
        }
        Set<SpiffeId> ids = new LinkedHashSet<>();
        for (Export e : declaring) {
            for (String id : e.identities()) {
                SpiffeId.tryParse(id).ifPresent(ids::add);
            }
        }
        String name = service + "." + namespace + "." + suffix;
        if (ids.isEmpty()) {
            return new Refused(name + " port " + p + " is exported for passthrough (mtls) by "
                    + declaring.stream().map(Export::cluster).toList() + " without naming the identities that serve it;"
                    + " the VM cannot know whom to trust. List them on the export (its identities).");
        }
        return new Passthrough(p, p + "." + name, ids);
    }
}
