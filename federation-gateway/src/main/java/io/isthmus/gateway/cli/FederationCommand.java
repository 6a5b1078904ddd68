package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.membership.HostPort;
import io.isthmus.trust.membership.Member;
import io.isthmus.trust.membership.Membership;
import io.isthmus.trust.membership.MembershipJws;
import io.isthmus.trust.membership.MembershipVerdict;
import io.isthmus.trust.membership.MembershipVerifier;
import io.isthmus.trust.membership.SignedMembership;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code isthmus federation add|remove|show|status}: the federation's membership. {@code add} and {@code remove}
 * build the next version of the signed membership document from the current one (read from a gateway, or from a
 * file for a machine that stays offline), sign it with the federation root key, and write it to a file and/or push
 * it to one member, which spreads it to all. {@code show} prints the document a gateway holds, {@code status} which
 * version every member holds.
 */
@Command(name = "federation", description = "Add or remove a cluster: one root-signed change that every member applies"
        + " without a restart.", subcommands = {FederationCommand.Add.class, FederationCommand.Remove.class,
                FederationCommand.Sign.class, FederationCommand.Push.class, FederationCommand.Show.class,
                FederationCommand.Status.class})
final class FederationCommand {
    static final String BASE = "/v1/admin/federation";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What signs and where the current version comes from and the next goes. */
    static final class Signing {
        @Option(names = "--root-cert", required = true, description = "The federation root certificate (PEM).")
        Path rootCert;

        @Option(names = "--root-key", required = true, description = "The federation root's private key (keep it "
                + "offline: run this where it is kept, with --current and --out).")
        Path rootKey;

        @Option(names = "--current", description = "The signed document now in force (a file, e.g. the --out of the"
                + " previous change); default: read it from --gateway; neither: start at version 1.")
        Path current;

        @Option(names = "--out", description = "Write the signed document here (push it later with --gateway, or with"
                + " 'isthmus federation push --document').")
        Path out;

        @Option(names = "--gateway", description = "Read the current version from this gateway's admin API "
                + "(https://host:15012) and push the new one to it; it spreads to every member.")
        URI gatewayUrl;

        @Option(names = "--admin-token-file", description = "With --gateway: file with the bootstrap admin token.")
        Path adminTokenFile;

        // Not --trust-domain: 'add' has that option for the cluster it adds.
        @Option(names = "--gateway-trust-domain", paramLabel = "<td>", description = "With --gateway: the trust domain "
                + "of the cluster whose gateway that is (required). The admin token is sent only to that trust domain's "
                + "gateway (spiffe://<td>" + TokenCommand.GATEWAY_PATH + "), never to one of another federated trust domain.")
        String gatewayTrustDomain;

        private TokenCommand.Connection gateway;

        /** The gateway to read from and push to (authenticated from --root-cert), if --gateway was given. */
        TokenCommand.Connection gateway() {
            if (gatewayUrl == null) {
                return null;
            }
            if (adminTokenFile == null) {
                throw new IllegalArgumentException("--gateway needs --admin-token-file");
            }
            if (TokenCommand.gatewayTrust(gatewayTrustDomain, null) instanceof TokenCommand.GatewayTrust.Refused r) {
                throw new TokenCommand.AdminUsageException(r.message().replace("--trust-domain", "--gateway-trust-domain")
                        .replace(" (or --gateway-id)", ""));
            }
            if (gateway == null) {
                gateway = new TokenCommand.Connection();
                gateway.gateway = gatewayUrl;
                gateway.adminTokenFile = adminTokenFile;
                gateway.rootCa = rootCert;
                gateway.trustDomain = gatewayTrustDomain;
            }
            return gateway;
        }

        Optional<SignedMembership> current(FederationRoots roots) throws Exception {
            String compact = null;
            if (current != null) {
                compact = Files.readString(current, StandardCharsets.UTF_8).strip();
            } else if (gateway() != null) {
                JsonNode held = gateway().call("GET", BASE + "/membership", null);
                compact = held.hasNonNull("document") ? held.get("document").asText() : null;
            }
            if (compact == null) {
                return Optional.empty();
            }
            MembershipVerdict v = new MembershipVerifier().verify(compact, roots, OptionalLong.empty());
            if (v instanceof MembershipVerdict.Refused r) {
                throw new IllegalArgumentException("the current membership document is not valid under " + rootCert
                        + " (" + r.reason().code() + "): " + r.message());
            }
            return Optional.of(((MembershipVerdict.Accepted) v).document());
        }

        int write(PrintWriter out, Membership next) throws Exception {
            X509Certificate root = Pem.readCertificate(rootCert);
            PrivateKey key = Pem.readPrivateKey(rootKey);
            String signed = MembershipJws.sign(next, key, root);
            out.printf("membership version %d: %s%n", next.version(), next.members().stream().map(Member::name).toList());
            if (this.out != null) {
                Files.writeString(this.out, signed + "\n", StandardCharsets.UTF_8);
                out.printf("  signed document written to %s%n", this.out);
            }
            if (gateway() != null) {
                JsonNode applied = gateway().call("PUT", BASE + "/membership", JSON.createObjectNode().put("document", signed));
                out.printf("  taken by %s (version %d); it spreads to every member%n", gatewayUrl,
                        applied.path("version").asLong());
                applied.path("warnings").forEach(w -> out.printf("  warning: %s%n", w.asText()));
            } else if (this.out == null) {
                out.println(signed);
            }
            return 0;
        }
    }

    @Command(name = "add", description = "Add a cluster (or change one, by name) in the next version.")
    static final class Add implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        SigningMixin signing;

        @Option(names = "--name", required = true, description = "The cluster's name (its registry site).")
        String name;

        @Option(names = "--trust-domain", required = true, description = "Its trust domain.")
        String trustDomain;

        @Option(names = "--bundle-endpoint", required = true, description = "Its SPIFFE bundle endpoint, https://host:8443/")
        URI bundleEndpoint;

        @Option(names = "--bridge", description = "host:port of its registry bridge (repeat per replica that can be "
                + "site master).")
        List<String> bridges = new ArrayList<>();

        @Option(names = "--ingress", required = true, description = "host:port of its east-west ingress.")
        String ingress;

        @Option(names = "--gateway-id", description = "A SPIFFE ID its gateways present (repeat; default "
                + "spiffe://<trust domain>" + TokenCommand.GATEWAY_PATH + ").")
        List<String> gatewayIds = new ArrayList<>();

        @Option(names = "--region", defaultValue = "", description = "Where it runs.")
        String region;

        @Option(names = "--zone", defaultValue = "", description = "Where it runs.")
        String zone;

        @Override
        public Integer call() throws Exception {
            Signing s = signing.signing;
            s.gateway(); // wrong usage (--gateway without --gateway-trust-domain) refused before anything is read
            FederationRoots roots = new FederationRoots(Pem.readCertificates(s.rootCert));
            TrustDomain td = TrustDomain.parse(trustDomain);
            List<SpiffeId> ids = gatewayIds.isEmpty() ? List.of(SpiffeId.parse("spiffe://" + td.name()
                    + TokenCommand.GATEWAY_PATH)) : gatewayIds.stream().map(SpiffeId::parse).toList();
            Member member = new Member(name, td, bundleEndpoint, bridges.stream().map(HostPort::parse).toList(),
                    HostPort.parse(ingress), ids, region, zone);
            Optional<SignedMembership> current = s.current(roots);
            Membership next = current.map(c -> c.membership().with(member, c.version() + 1, Instant.now()))
                    .orElseGet(() -> new Membership(1, Instant.now(), List.of(member)));
            return s.write(spec.commandLine().getOut(), next);
        }
    }

    @Command(name = "remove", description = "Remove a cluster in the next version: every member drops its bundle, "
            + "closes its connections and purges its exports.")
    static final class Remove implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        SigningMixin signing;

        @Option(names = "--name", required = true, description = "The cluster to remove.")
        String name;

        @Override
        public Integer call() throws Exception {
            Signing s = signing.signing;
            s.gateway(); // wrong usage (--gateway without --gateway-trust-domain) refused before anything is read
            FederationRoots roots = new FederationRoots(Pem.readCertificates(s.rootCert));
            SignedMembership current = s.current(roots).orElseThrow(() -> new IllegalArgumentException(
                    "no current membership document: pass --current or --gateway"));
            if (current.membership().member(name).isEmpty()) {
                throw new IllegalArgumentException("'" + name + "' is not a member of version " + current.version()
                        + " (members: " + current.membership().members().stream().map(Member::name).toList() + ")");
            }
            return s.write(spec.commandLine().getOut(), current.membership().without(name, current.version() + 1,
                    Instant.now()));
        }
    }

    static final class SigningMixin {
        @ArgGroup(exclusive = false, multiplicity = "1")
        Signing signing;
    }

    @Command(name = "sign", description = "Sign a membership payload written elsewhere (the federation-root Terraform"
            + " module's membership_json output) with the root key.")
    static final class Sign implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        SigningMixin signing;

        @Option(names = "--payload", required = true, description = "The membership JSON: members, and optionally version"
                + " and issuedAt (without them, the version after the one in force and the time of signing).")
        Path payload;

        @Override
        public Integer call() throws Exception {
            Signing s = signing.signing;
            s.gateway(); // wrong usage (--gateway without --gateway-trust-domain) refused before anything is read
            Optional<SignedMembership> current = s.current(new FederationRoots(Pem.readCertificates(s.rootCert)));
            JsonNode rendered = JSON.readTree(Files.readString(payload, StandardCharsets.UTF_8));
            if (rendered == null || !rendered.isObject()) {
                throw new IllegalArgumentException(payload + " is not a JSON object with members");
            }
            com.fasterxml.jackson.databind.node.ObjectNode filled = ((com.fasterxml.jackson.databind.node.ObjectNode) rendered)
                    .deepCopy();
            if (!filled.has("version")) {
                filled.put("version", current.map(c -> c.version() + 1).orElse(1L));
            }
            if (!filled.has("issuedAt")) {
                filled.put("issuedAt", Instant.now().toString());
            }
            Membership next = new io.isthmus.trust.membership.MembershipCodec().parse(filled.toString());
            if (current.isPresent() && next.version() <= current.get().version()) {
                throw new IllegalArgumentException("the payload's version " + next.version() + " is not newer than the"
                        + " version " + current.get().version() + " in force; every member would refuse it"
                        + " (version-not-newer): leave the version out, or set it to " + (current.get().version() + 1));
            }
            return s.write(spec.commandLine().getOut(), next);
        }
    }

    @Command(name = "push", description = "Hand a signed document (from add/remove --out) to one member; it spreads"
            + " to all.")
    static final class Push implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Option(names = "--document", required = true, description = "The signed membership document.")
        Path document;

        @Override
        public Integer call() throws Exception {
            String signed = Files.readString(document, StandardCharsets.UTF_8).strip();
            JsonNode applied = connection.connection.call("PUT", BASE + "/membership",
                    JSON.createObjectNode().put("document", signed));
            PrintWriter out = spec.commandLine().getOut();
            out.printf("membership version %d taken by %s; it spreads to every member%n", applied.path("version").asLong(),
                    connection.connection.gateway);
            applied.path("warnings").forEach(w -> out.printf("  warning: %s%n", w.asText()));
            return 0;
        }
    }

    @Command(name = "show", description = "The membership document a gateway holds.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            JsonNode held = connection.connection.call("GET", BASE + "/membership", null);
            if (!held.hasNonNull("version")) {
                out.printf("%s holds no membership document (static peers are in force)%n", held.path("self").asText());
                return 0;
            }
            out.printf("membership version %d, signed by %s%n", held.path("version").asLong(), held.path("signer").asText());
            out.printf("%-16s %-32s %-36s %s%n", "NAME", "TRUST DOMAIN", "BUNDLE ENDPOINT", "BRIDGE / INGRESS");
            for (JsonNode m : held.path("membership").path("members")) {
                out.printf("%-16s %-32s %-36s %s / %s%n", m.path("name").asText(), m.path("trustDomain").asText(),
                        m.path("bundleEndpoint").asText(), m.path("bridgeAddresses"), m.path("ingressAddress").asText());
            }
            return 0;
        }
    }

    @Command(name = "status", description = "Which membership version every member holds (exit 3 while they differ).")
    static final class Status implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            JsonNode status = connection.connection.call("GET", BASE + "/status", null);
            long version = status.path("version").asLong(0);
            out.printf("%s holds version %d%n", status.path("self").asText(), version);
            out.printf("%-16s %-32s %s%n", "MEMBER", "TRUST DOMAIN", "VERSION");
            boolean same = true;
            for (JsonNode m : status.path("members")) {
                String held = m.hasNonNull("version") ? String.valueOf(m.get("version").asLong())
                        : "? (" + m.path("error").asText() + ")";
                same &= m.path("version").asLong(-1) == version;
                out.printf("%-16s %-32s %s%n", m.path("name").asText(), m.path("trustDomain").asText(), held);
            }
            return same ? 0 : 3;
        }
    }
}
