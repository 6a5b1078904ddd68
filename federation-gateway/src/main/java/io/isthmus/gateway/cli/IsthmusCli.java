package io.isthmus.gateway.cli;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import io.isthmus.build.BuildInfo;
import io.isthmus.trust.text.TerminalWriter;

/**
 * The operator CLI: {@code isthmus ca init-root}, {@code isthmus ca issue-intermediate}, {@code isthmus bundle show},
 * {@code isthmus token create|list|revoke}, {@code isthmus authz check|explain|suggest|simulate}, {@code isthmus check},
 * {@code isthmus rotate intermediate|status|abort}, {@code isthmus ca sign-csr}, {@code isthmus federation add|remove|show|status}.
 * Runs without the gateway: it only reads and writes files and, for {@code bundle show --url}, polls a bundle
 * endpoint once. Exit codes: 0 success, 1 the operation failed (message on stderr), 2 wrong usage.
 */
@Command(name = "isthmus", mixinStandardHelpOptions = true, versionProvider = IsthmusCli.Version.class,
        description = "Build and inspect an Isthmus federation by hand.",
        subcommands = {CaCommand.class, BundleCommand.class, TokenCommand.class, EntryCommand.class, AuthzCommand.class,
                RotateCommand.class,
                FederationCommand.class, CheckCommand.class, CommandLine.HelpCommand.class})
public final class IsthmusCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** {@code isthmus 0.1.0 (commit 8277983)}: the build this CLI is, as the gateway's isthmus_build_info says. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"isthmus " + BuildInfo.current().describe()};
        }
    }

    /** Runs the CLI and returns its exit code (tests call this instead of main). */
    public static int run(String... args) {
        return run(null, null, args);
    }

    /** Runs the CLI with its output (stdout and stderr) going to {@code out}, e.g. from several threads at once. */
    public static int run(PrintWriter out, String... args) {
        return run(out, out, args);
    }

    /**
     * Runs the CLI with its output going to {@code out} and {@code err} (null: the console, in UTF-8), for callers
     * that embed it, such as end-to-end tests that run {@code isthmus authz suggest} against a gateway's log.
     */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new IsthmusCli());
        // check prints ✓ and ✗: UTF-8 whatever the platform's default, like every other tool's output here. Commands
        // print what gateways relay from peers and VMs: nothing reaches the terminal as a control character
        // (TerminalWriter), so picocli's own colours are off too.
        cli.setOut(terminal(out != null ? out : new OutputStreamWriter(System.out, StandardCharsets.UTF_8)));
        cli.setErr(terminal(err != null ? err : new OutputStreamWriter(System.err, StandardCharsets.UTF_8)));
        cli.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        cli.registerConverter(Duration.class, IsthmusCli::parseDuration);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof TokenCommand.AdminUsageException) {
                // Wrong usage found by a command before any I/O (e.g. no trust domain for the admin API): as picocli's.
                cmd.getErr().println("isthmus: " + e.getMessage());
                cmd.getErr().println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
                return cmd.getCommandSpec().exitCodeOnInvalidInput();
            }
            cmd.getErr().println("isthmus: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        return cli.execute(args);
    }

    private static PrintWriter terminal(java.io.Writer out) {
        return new PrintWriter(new TerminalWriter(out), true);
    }

    /** {@code 90d}, {@code 12h}, {@code 30m}, {@code 45s}, {@code 500ms}, or ISO-8601 ({@code PT1H}). */
    static Duration parseDuration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.startsWith("p")) {
                return Duration.parse(text.trim().toUpperCase(Locale.ROOT));
            }
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            }
            long n = Long.parseLong(t.substring(0, t.length() - 1));
            return switch (t.charAt(t.length() - 1)) {
                case 'd' -> Duration.ofDays(n);
                case 'h' -> Duration.ofHours(n);
                case 'm' -> Duration.ofMinutes(n);
                case 's' -> Duration.ofSeconds(n);
                default -> throw new IllegalArgumentException();
            };
        } catch (RuntimeException e) {
            throw new CommandLine.TypeConversionException("'" + text
                    + "' is not a duration; use e.g. 3650d, 12h, 30m, 500ms or PT1H");
        }
    }
}
