package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;

/**
 * {@code isthmus rotate intermediate|status|abort}: drives the rotation of a cluster's intermediate through the
 * gateway's admin API (authenticated like {@code isthmus token}). {@code intermediate} is idempotent and resumable:
 * run it again after an interruption (or after signing the CSR offline) and it continues from the phase the gateway
 * reports.
 */
@Command(name = "rotate", description = "Rotate a cluster's intermediate CA with overlap, and show where rotations stand.",
        subcommands = {RotateCommand.Intermediate.class, RotateCommand.Status.class, RotateCommand.Abort.class})
final class RotateCommand {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "/v1/admin/rotation";

    @Command(name = "intermediate", description = "prepare -> sign -> publish -> wait -> activate (-> retire): each "
            + "step is skipped when the gateway reports it done.")
    static final class Intermediate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Option(names = "--root-cert", description = "Sign here: the federation root certificate (PEM). Without "
                + "--root-key the CSR is written to --csr-out and the command stops until you sign it.")
        Path rootCert;

        @Option(names = "--root-key", description = "Sign here: the federation root's private key (keep it offline "
                + "otherwise; use 'isthmus ca sign-csr' on the offline machine and pass --signed).")
        Path rootKey;

        @Option(names = "--signed", description = "The intermediate certificate signed offline for the CSR (PEM).")
        Path signed;

        @Option(names = "--csr-out", description = "Where to write the CSR when it must be signed offline "
                + "(default: <trust domain>-next.csr).")
        Path csrOut;

        @Option(names = "--validity", defaultValue = "365d", description = "Lifetime of the new intermediate when "
                + "signed here (default ${DEFAULT-VALUE}; never beyond the root's).")
        Duration validity;

        @Option(names = "--force", description = "Activate even though a peer does not hold the new CA yet (named), "
                + "or before VM agents refreshed; retire before the old CA's SVIDs expired (revokes them).")
        boolean force;

        @Option(names = "--until", defaultValue = "activate", description = "Last step to drive: publish, activate "
                + "or retire (default ${DEFAULT-VALUE}; the gateway retires the old CA by itself when it is due).")
        String until;

        @Option(names = "--wait-timeout", defaultValue = "30m", description = "How long to wait for peers (wait) "
                + "and, with --until retire, for the retirement (default ${DEFAULT-VALUE}).")
        Duration waitTimeout;

        @Option(names = "--poll", defaultValue = "2s", description = "How often to ask while waiting.")
        Duration poll;

        @Override
        public Integer call() throws Exception {
            String last = until.toLowerCase(Locale.ROOT);
            if (!List.of("publish", "activate", "retire").contains(last)) {
                throw new IllegalArgumentException("--until must be publish, activate or retire, not '" + until + "'");
            }
            PrintWriter out = spec.commandLine().getOut();
            TokenCommand.Connection api = connection.connection;
            JsonNode status = api.call("GET", BASE, null);
            TrustDomain td = TrustDomain.parse(status.path("status").path("trustDomain").asText());
            String phase = status.path("cluster").path("phase").asText();
            out.printf("%s: rotation phase %s, active intermediate %s%n", td, phase,
                    status.path("cluster").path("active").path("serial").asText());
            if (phase.equals("idle") || phase.equals("retired")) {
                JsonNode prepared = timed(out, "prepare", () -> api.call("POST", BASE + "/intermediate/prepare", null));
                phase = prepared.path("phase").asText();
            }
            if (phase.equals("prepared")) {
                JsonNode prepared = api.call("POST", BASE + "/intermediate/prepare", null);
                String csr = prepared.path("csr").asText();
                String chain;
                if (signed != null) {
                    chain = Files.readString(signed);
                } else if (rootKey != null && rootCert != null) {
                    chain = signHere(td, csr);
                } else {
                    Path file = csrOut != null ? csrOut : Path.of(td.name() + "-next.csr");
                    Files.writeString(file, csr);
                    out.printf("the gateway prepared a new key; its CSR is in %s.%nSign it with the federation root "
                            + "(offline): isthmus ca sign-csr --csr %s --trust-domain %s --root-cert root.pem "
                            + "--root-key root.key --out <dir>%nthen run this command again with --signed <dir>/%s.pem%n",
                            file, file, td, td.name());
                    return 0;
                }
                ObjectNode body = JSON.createObjectNode().put("chain", chain);
                JsonNode done = timed(out, "sign", () -> api.call("POST", BASE + "/intermediate/sign", body));
                phase = done.path("phase").asText();
                out.printf("  new intermediate %s%n", done.path("next").asText());
            }
            if (phase.equals("signed")) {
                JsonNode done = timed(out, "publish", () -> api.call("POST", BASE + "/intermediate/publish", null));
                phase = done.path("phase").asText();
                out.printf("  published in bundle sequence %d%n", done.path("publishedSequence").asLong());
            }
            if (last.equals("publish")) {
                return 0;
            }
            if (phase.equals("published")) {
                timed(out, "wait", () -> {
                    waitForPeers(api, out);
                    return null;
                });
                JsonNode done = timed(out, "activate", () -> api.call("POST", BASE + "/intermediate/activate",
                        JSON.createObjectNode().put("force", force)));
                phase = done.path("phase").asText();
                out.printf("  %s now signs; the old CA %s retires at %s%n", done.path("active").path("serial").asText(),
                        done.path("previous").asText(), done.path("retireAt").asText());
            }
            if (last.equals("retire") && phase.equals("activated")) {
                timed(out, "retire", () -> retire(api, out));
            }
            JsonNode end = api.call("GET", BASE, null).path("cluster");
            out.printf("%s: rotation phase %s; steps: %s%n", td, end.path("phase").asText(), end.path("stepDurations"));
            return 0;
        }

        private String signHere(TrustDomain td, String csr) throws Exception {
            X509Certificate root = Pem.readCertificate(rootCert);
            CaCredential credential = new CaCredential(Pem.readPrivateKey(rootKey), List.of(root));
            PublicKey key = SvidIssuer.verifiedKey(csr.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return Pem.write(new CaFactory(Clock.systemUTC()).issueIntermediateCertificate(credential, td, key, validity));
        }

        private void waitForPeers(TokenCommand.Connection api, PrintWriter out) throws Exception {
            Instant deadline = Instant.now().plus(waitTimeout);
            String shown = "";
            while (true) {
                JsonNode w = api.call("GET", BASE + "/intermediate/wait", null);
                boolean complete = w.path("complete").asBoolean();
                Instant agentsReady = Instant.parse(w.path("publishedAt").asText(Instant.now().toString()))
                        .plus(Duration.parse(w.path("agentRefresh").asText("PT0S")));
                String line = complete ? "every peer holds the new CA " + w.path("holding")
                        : "waiting for " + w.path("missing");
                if (complete && Instant.now().isBefore(agentsReady) && !force) {
                    line += "; VM agents refresh until " + agentsReady;
                }
                if (!line.equals(shown)) {
                    out.println("  " + line);
                    out.flush();
                    shown = line;
                }
                if (force || complete && !Instant.now().isBefore(agentsReady)) {
                    return;
                }
                if (Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException("peers still lack the new CA after " + waitTimeout + ": "
                            + w.path("missing") + "; run again to keep waiting, or --force");
                }
                Thread.sleep(poll.toMillis());
            }
        }

        private JsonNode retire(TokenCommand.Connection api, PrintWriter out) throws Exception {
            Instant deadline = Instant.now().plus(waitTimeout);
            while (true) {
                JsonNode c = api.call("GET", BASE, null).path("cluster");
                if (!c.path("phase").asText().equals("activated")) {
                    return c;
                }
                Instant due = Instant.parse(c.path("retireAt").asText());
                if (force || !Instant.now().isBefore(due)) {
                    return api.call("POST", BASE + "/intermediate/retire", JSON.createObjectNode().put("force", force));
                }
                if (Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException("the old CA retires at " + due + ", after --wait-timeout; the gateway "
                            + "retires it by itself then");
                }
                Thread.sleep(Math.min(poll.toMillis(), Math.max(100, Duration.between(Instant.now(), due).toMillis())));
            }
        }
    }

    @Command(name = "status", description = "This cluster's rotation and what every peer reports: its phase, its "
            + "roots, and which of our CAs it holds.")
    static final class Status implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Option(names = "--json", description = "Print the API's JSON answer.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            JsonNode s = connection.connection.call("GET", BASE, null);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s));
                return 0;
            }
            JsonNode own = s.path("status");
            JsonNode c = s.path("cluster");
            String td = own.path("trustDomain").asText();
            out.printf("%-28s phase %-10s active %s (%.0f%% of its life left, until %s)%n", td, c.path("phase").asText(),
                    c.path("active").path("serial").asText(), c.path("active").path("remaining").asDouble() * 100,
                    c.path("active").path("notAfter").asText());
            if (c.hasNonNull("next")) {
                out.printf("%-28s next %s%s%n", "", c.path("next").asText(), c.hasNonNull("retireAt")
                        ? ", old CA " + c.path("previous").asText() + " retires at " + c.path("retireAt").asText() : "");
            }
            if (c.hasNonNull("expiryWarning")) {
                out.printf("%-28s WARNING: %s%n", "", c.path("expiryWarning").asText());
            }
            out.printf("%-28s roots %s; steps %s%n", "", roots(own), c.path("stepDurations"));
            String ourNext = c.path("next").asText(null);
            for (JsonNode p : s.path("peers")) {
                if (p.hasNonNull("error")) {
                    out.printf("%-28s UNREACHABLE: %s%n", p.path("trustDomain").asText(), p.path("error").asText());
                    continue;
                }
                JsonNode ps = p.path("status");
                JsonNode held = ps.path("bundles").path(td);
                String holds = ourNext == null ? "" : held.path("x509Authorities").toString().contains("\"" + ourNext + "\"")
                        ? ", holds our new CA" : ", does NOT hold our new CA " + ourNext;
                out.printf("%-28s phase %-10s active %s; holds our bundle sequence %s%s; roots %s%n",
                        p.path("trustDomain").asText(), ps.path("rotation").path("phase").asText(),
                        ps.path("intermediate").path("serial").asText(), held.path("sequence").asText("none"), holds,
                        roots(ps));
            }
            return 0;
        }

        private static String roots(JsonNode status) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode r : status.path("roots")) {
                sb.append(sb.isEmpty() ? "" : ", ").append(r.path("sha256").asText().substring(0, 16)).append('…');
            }
            return "[" + sb + "]";
        }
    }

    @Command(name = "abort", description = "Abandon a rotation that was not activated yet (the new CA leaves the bundle).")
    static final class Abort implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Override
        public Integer call() throws Exception {
            JsonNode v = connection.connection.call("POST", BASE + "/intermediate/abort", null);
            spec.commandLine().getOut().printf("rotation phase now %s%n", v.path("phase").asText());
            return 0;
        }
    }

    @FunctionalInterface
    private interface Step {
        JsonNode run() throws Exception;
    }

    /** Runs one step, printing how long it took (the runbook's phase times). */
    private static JsonNode timed(PrintWriter out, String name, Step step) throws Exception {
        long start = System.nanoTime();
        JsonNode result = step.run();
        out.printf("%-9s done in %d ms%n", name, (System.nanoTime() - start) / 1_000_000);
        out.flush();
        return result;
    }
}
