package io.isthmus.gateway.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;
import io.isthmus.trust.x509.Pem;

/**
 * {@code isthmus token create|list|revoke}: join tokens for VM agents, through a gateway's admin API. The gateway
 * is authenticated by its SVID (chaining to {@code --root-ca}, constrained to its trust domain, with the gateway's
 * SPIFFE ID); the CLI authenticates with the bootstrap admin token.
 */
@Command(name = "token", description = "Create, list and revoke join tokens for VM agents.",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
final class TokenCommand {
    static final String GATEWAY_PATH = "/ns/isthmus-system/sa/isthmus-gateway";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where the gateway is and how to authenticate both ways. */
    static final class Connection {
        @Option(names = "--gateway", required = true, description = "The gateway's enrolment/admin URL, https://host:15012")
        URI gateway;

        @Option(names = "--admin-token-file", required = true, description = "File with the bootstrap admin token.")
        Path adminTokenFile;

        @Option(names = "--root-ca", required = true, description = "Federation root certificate(s), PEM.")
        Path rootCa;

        // Required (either): every gateway of the federation holds an SVID that verifies under the federation root,
        // so without a trust domain whichever answered at --gateway (a peer cluster's gateway, or anyone holding such
        // an SVID on the path) would be sent the bootstrap admin token, and could mint join tokens or rotate CAs here.
        @Option(names = "--trust-domain", paramLabel = "<td>", description = "The trust domain of the cluster whose "
                + "gateway this is, e.g. alpha.acme.internal (required, or --gateway-id). The admin token is sent only "
                + "after the gateway presents that trust domain's gateway SVID (spiffe://<td>" + GATEWAY_PATH + "); a "
                + "gateway of any other federated trust domain is refused.")
        String trustDomain;

        @Option(names = "--gateway-id", description = "Exact SPIFFE ID the gateway must present, instead of "
                + "spiffe://<--trust-domain>" + GATEWAY_PATH + " (either this or --trust-domain is required; with both, "
                + "the ID must be of that trust domain).")
        String gatewayId;

        JsonNode call(String method, String path, JsonNode body) throws IOException, InterruptedException {
            GatewayTrust.Pinned pinned = gatewayTrust(trustDomain, gatewayId).pinned();
            String token = Files.readString(adminTokenFile, StandardCharsets.UTF_8).trim();
            HttpRequest.Builder b = HttpRequest.newBuilder(gateway.resolve(path)).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json");
            b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body.toString()));
            HttpResponse<String> r = client(pinned).send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = r.body() == null || r.body().isBlank() ? JSON.nullNode() : JSON.readTree(r.body());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException(gateway.resolve(path) + " answered " + r.statusCode() + " "
                        + json.path("code").asText("") + ": " + json.path("detail").asText(r.body()));
            }
            return json;
        }

        private HttpClient client(GatewayTrust.Pinned pinned) {
            TrustDomain td = pinned.trustDomain();
            PeerPolicy policy = pinned.policy();
            try {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, new TrustManager[] {new RootAnchoredTrustManager(td, policy,
                        new FederationRoots(Pem.readCertificates(rootCa)), ignored -> Optional.empty(), Clock.systemUTC(),
                        Duration.ofSeconds(30))}, null);
                return HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(10)).build();
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
            }
        }
    }

    static final String TRUST_DOMAIN_REQUIRED = "--trust-domain is required (or --gateway-id): the CLI sends the admin "
            + "token only to a gateway of that trust domain, e.g. --trust-domain alpha.acme.internal";

    /** Which gateway the admin token may be sent to: one trust domain's gateway, or the refusal to send it at all. */
    sealed interface GatewayTrust {
        /** The server must chain to the root under {@code trustDomain}'s constrained CA and pass {@code policy}. */
        record Pinned(TrustDomain trustDomain, PeerPolicy policy) implements GatewayTrust {
        }

        /** Wrong usage: nothing is read or sent. */
        record Refused(String message) implements GatewayTrust {
        }

        /** @throws AdminUsageException if refused */
        default Pinned pinned() {
            if (this instanceof Refused r) {
                throw new AdminUsageException(r.message());
            }
            return (Pinned) this;
        }
    }

    /**
     * The admin API's server authentication, from {@code --trust-domain} and {@code --gateway-id} (either may be null).
     * Neither: refused, since a gateway SVID of any federated trust domain verifies under the federation root. Pure.
     */
    static GatewayTrust gatewayTrust(String trustDomain, String gatewayId) {
        if ((trustDomain == null || trustDomain.isBlank()) && (gatewayId == null || gatewayId.isBlank())) {
            return new GatewayTrust.Refused(TRUST_DOMAIN_REQUIRED);
        }
        TrustDomain td = null;
        if (trustDomain != null && !trustDomain.isBlank()) {
            try {
                td = TrustDomain.parse(trustDomain);
            } catch (RuntimeException e) {
                return new GatewayTrust.Refused("--trust-domain '" + trustDomain + "' is not a trust domain name "
                        + "(e.g. alpha.acme.internal): " + e.getMessage());
            }
        }
        if (gatewayId != null && !gatewayId.isBlank()) {
            SpiffeId id;
            try {
                id = SpiffeId.parse(gatewayId);
            } catch (RuntimeException e) {
                return new GatewayTrust.Refused("--gateway-id '" + gatewayId + "' is not a SPIFFE ID: " + e.getMessage());
            }
            if (td != null && !id.memberOf(td)) {
                return new GatewayTrust.Refused("--gateway-id " + id + " is not of --trust-domain " + td.name());
            }
            return new GatewayTrust.Pinned(id.trustDomain(), PeerPolicy.exactly(id));
        }
        TrustDomain pinnedTd = td;
        SpiffeId expected = SpiffeId.parse("spiffe://" + pinnedTd.name() + GATEWAY_PATH);
        return new GatewayTrust.Pinned(pinnedTd, id -> id.equals(expected) ? null
                : "the gateway of " + pinnedTd.name() + " (" + expected + ")");
    }

    /** Wrong usage found after parsing (exit 2, like picocli's own usage errors); thrown before any I/O. */
    static final class AdminUsageException extends RuntimeException {
        AdminUsageException(String message) {
            super(message);
        }
    }

    @Command(name = "create", description = "Create a join token bound to one identity; prints the token once.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionMixin connection;

        @Option(names = "--namespace", required = true, description = "Namespace of the VM's identity.")
        String namespace;

        @Option(names = "--service-account", required = true, description = "Service account of the VM's identity.")
        String serviceAccount;

        @Option(names = "--ttl", description = "How long the token is valid (default: the gateway's, 15m).")
        Duration ttl;

        @Option(names = "--max-uses", description = "How many VMs may enrol with it (default 1).")
        Integer maxUses;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JSON.createObjectNode().put("namespace", namespace).put("serviceAccount", serviceAccount);
            if (ttl != null) {
                body.put("ttl", ttl.toString());
            }
            if (maxUses != null) {
                body.put("maxUses", maxUses);
            }
            JsonNode created = connection.connection.call("POST", "/v1/admin/join-tokens", body);
            PrintWriter out = spec.commandLine().getOut();
            out.println(created.path("token").asText());
            JsonNode d = created.path("details");
            spec.commandLine().getErr().printf("join token %s for %s, valid until %s, %d use(s); it is shown only once%n",
                    d.path("id").asText(), d.path("spiffeId").asText(), d.path("expiresAt").asText(), d.path("maxUses").asInt());
            return 0;
        }
    }

    @Command(name = "list", description = "List join tokens (never their secrets).")
    static final class ListTokens implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionMixin connection;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            for (JsonNode t : connection.connection.call("GET", "/v1/admin/join-tokens", null)) {
                out.printf("%s  %s  expires %s  uses %d/%d%s%n", t.path("id").asText(), t.path("spiffeId").asText(),
                        t.path("expiresAt").asText(), t.path("uses").asInt(), t.path("maxUses").asInt(),
                        t.path("revoked").asBoolean() ? "  REVOKED" : "");
            }
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke a join token by id.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionMixin connection;

        @Option(names = "--id", required = true, description = "The token id (as listed; not the token itself).")
        String id;

        @Override
        public Integer call() throws Exception {
            JsonNode t = connection.connection.call("DELETE", "/v1/admin/join-tokens/" + id, null);
            spec.commandLine().getOut().printf("revoked join token %s for %s%n", t.path("id").asText(),
                    t.path("spiffeId").asText());
            return 0;
        }
    }

    /** Picocli mixin carrying {@link Connection}'s options. */
    static final class ConnectionMixin {
        @picocli.CommandLine.ArgGroup(exclusive = false, multiplicity = "1")
        Connection connection;
    }
}
