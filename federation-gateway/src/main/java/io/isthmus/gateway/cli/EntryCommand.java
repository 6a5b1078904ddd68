package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code isthmus entry set|list|delete}: a VM agent's registration entries, held by the gateway and pulled by the
 * agent ({@code PUT/GET/DELETE /v1/admin/registration-entries}). {@code set} takes the agent's own entries file format,
 * so entries move from a VM's file to the gateway unchanged.
 */
@Command(name = "entry", description = "Set, list and delete the registration entries the gateway delivers to a VM agent.",
        subcommands = {EntryCommand.Set.class, EntryCommand.ListEntries.class, EntryCommand.Delete.class})
final class EntryCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Command(name = "set", description = "Replace the agent's entries with those of a file {\"entries\": [...]}.")
    static final class Set implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Option(names = "--agent", required = true, description = "The VM agent's SPIFFE ID.")
        String agent;

        @Option(names = "--file", required = true, description = "JSON {\"entries\": [{\"spiffeId\", \"selectors\"}]}, "
                + "as the agent's --registration-entries file ({\"entries\": []} removes them all).")
        Path file;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JSON.createObjectNode().put("agent", agent);
            body.set("entries", JSON.readTree(file.toFile()).path("entries"));
            print(spec, connection.connection.call("PUT", "/v1/admin/registration-entries", body));
            return 0;
        }
    }

    @Command(name = "list", description = "List the entries of one agent, or of every agent.")
    static final class ListEntries implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Option(names = "--agent", description = "Only this VM agent's (SPIFFE ID).")
        String agent;

        @Override
        public Integer call() throws Exception {
            for (JsonNode a : connection.connection.call("GET", "/v1/admin/registration-entries"
                    + (agent == null ? "" : "?agent=" + URLEncoder.encode(agent, StandardCharsets.UTF_8)), null)) {
                print(spec, a);
            }
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete every entry of an agent.")
    static final class Delete implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Option(names = "--agent", required = true, description = "The VM agent's SPIFFE ID.")
        String agent;

        @Override
        public Integer call() throws Exception {
            connection.connection.call("DELETE", "/v1/admin/registration-entries?agent="
                    + URLEncoder.encode(agent, StandardCharsets.UTF_8), null);
            spec.commandLine().getOut().printf("deleted the registration entries of %s%n", agent);
            return 0;
        }
    }

    private static void print(CommandSpec spec, JsonNode agentEntries) {
        PrintWriter out = spec.commandLine().getOut();
        out.printf("%s: %d entries%n", agentEntries.path("agent").asText(), agentEntries.path("entries").size());
        for (JsonNode e : agentEntries.path("entries")) {
            out.printf("  %s  %s%n", e.path("spiffeId").asText(), e.path("selectors"));
        }
    }
}
