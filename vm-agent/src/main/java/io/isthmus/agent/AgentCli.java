package io.isthmus.agent;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.jboss.logging.Logger;

import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.build.BuildInfo;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.agent.workload.WorkloadApiServer;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.text.TerminalWriter;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * {@code isthmus-agent join} (enrol with a join token, then run) and {@code isthmus-agent run} (restart from the
 * state directory). Exit codes: 0 stopped normally, 1 failed (message on stderr), 2 wrong usage.
 */
@Command(name = "isthmus-agent", mixinStandardHelpOptions = true, versionProvider = AgentCli.Version.class,
        description = "Joins this VM to an Isthmus federation and serves the SPIFFE Workload API.",
        subcommands = {AgentCli.Join.class, AgentCli.Run.class, CommandLine.HelpCommand.class})
public final class AgentCli {
    private static final Logger LOG = Logger.getLogger(AgentCli.class);
    static final String ROOT_FILE = "root.pem";

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tTZ %4$s [%3$s] %5$s%6$s%n");
        }
        System.exit(run(args));
    }

    /** {@code isthmus-agent 0.1.0 (commit 8277983)}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"isthmus-agent " + BuildInfo.current().describe()};
        }
    }

    public static int run(String... args) {
        return run(null, null, args);
    }

    /** As {@link #run(String...)}, writing to {@code out} and {@code err} (null: standard output, standard error). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        io.isthmus.agent.egress.LocalEgress.allowHostHeader();
        CommandLine cli = new CommandLine(new AgentCli());
        // The agent prints what its gateway answers: nothing reaches the terminal as a control character.
        cli.setOut(new java.io.PrintWriter(new TerminalWriter(out != null ? out
                : new java.io.OutputStreamWriter(System.out, System.out.charset())), true));
        cli.setErr(new java.io.PrintWriter(new TerminalWriter(err != null ? err
                : new java.io.OutputStreamWriter(System.err, System.err.charset())), true));
        cli.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("isthmus-agent: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        CommandLine.IParameterExceptionHandler usage = cli.getParameterExceptionHandler();
        cli.setParameterExceptionHandler((e, rest) -> {
            if (e instanceof CommandLine.MissingParameterException missing && missing.getMissing().stream()
                    .anyMatch(arg -> arg instanceof CommandLine.Model.OptionSpec o && o.longestName().equals("--trust-domain"))) {
                e.getCommandLine().getErr().println("isthmus-agent: " + Join.TRUST_DOMAIN_REQUIRED);
            }
            return usage.handleParseException(e, rest);
        });
        return cli.execute(args);
    }

    static class Serving {
        @Option(names = "--state-dir", defaultValue = "/var/lib/isthmus-agent",
                description = "Where the key (0600), SVID chain and bundles are kept (default: ${DEFAULT-VALUE}).")
        Path stateDir;

        @Option(names = "--socket", defaultValue = "/run/isthmus-agent/workload.sock",
                description = "Unix socket of the SPIFFE Workload API (default: ${DEFAULT-VALUE}).")
        Path socket;

        @Option(names = "--services", description = "Properties file of this VM's services to register with the "
                + "gateway (<name>.namespace, <name>.backend-port, optional <name>.port, <name>.protocol).")
        Path services;

        @Option(names = "--heartbeat-interval", defaultValue = "10s", converter = DurationConverter.class,
                description = "How often the services are registered again (a third of the gateway's lease; default: ${DEFAULT-VALUE}).")
        java.time.Duration heartbeatInterval;

        @Option(names = "--gateway-egress", description = "host:port of the cluster gateway's egress; enables the local egress.")
        String gatewayEgress;

        @Option(names = "--mesh-suffix", defaultValue = "svc.clusterset.local",
                description = "DNS suffix of mesh names, <service>.<namespace>.<suffix> (default: ${DEFAULT-VALUE}).")
        String meshSuffix;

        @Option(names = "--egress-port", defaultValue = "15001",
                description = "Loopback port of the local egress for apps on this VM (default: ${DEFAULT-VALUE}; 0 picks one).")
        int egressPort;

        @Option(names = "--trust-refresh", converter = DurationConverter.class, description = "Ask the gateway for "
                + "bundles and its signing CA at least this often (default: as often as the gateway says, 5m).")
        java.time.Duration trustRefresh;

        @Option(names = "--early-renew-spread", defaultValue = "30s", converter = DurationConverter.class,
                description = "When the CA that signed this VM's SVID is being retired, renew after a random delay of up "
                        + "to this (default: ${DEFAULT-VALUE}), so a cluster's VMs do not renew all at once.")
        java.time.Duration earlyRenewSpread;

        @Option(names = "--registration-entries", description = "JSON file of registration entries: which local callers "
                + "(SPIRE unix selectors: unix:uid, unix:user, unix:gid, unix:group, unix:path, unix:sha256) get which "
                + "SPIFFE IDs under this VM's. Reloaded when it changes. With it (or --gateway-entries) attestation is on, "
                + "and the entries the gateway holds for this agent apply too; without either, every local caller gets "
                + "the VM's own SVID (attestation off).")
        Path registrationEntries;

        @Option(names = "--gateway-entries", description = "Turn workload attestation on with the registration entries "
                + "set at the gateway for this agent (PUT /v1/admin/registration-entries), with or without a file.")
        boolean gatewayEntries;

        @Option(names = "--entries-refresh", defaultValue = "30s", converter = DurationConverter.class,
                description = "With attestation on, how often the gateway is asked for this agent's registration entries "
                        + "and the file looked at (also after every SVID renewal; default: ${DEFAULT-VALUE}).")
        java.time.Duration entriesRefresh;

        @Option(names = "--root-reload-interval", defaultValue = "10s", converter = DurationConverter.class,
                description = "How often the root file is looked at for new roots (a root rotation; default: ${DEFAULT-VALUE}).")
        java.time.Duration rootReload;

        Extras extras() throws java.io.IOException {
            return new Extras(services == null ? java.util.List.of() : io.isthmus.agent.services.ServicesFile.read(services),
                    heartbeatInterval, gatewayEgress == null ? null
                            : hostPort(gatewayEgress), egressPort, meshSuffix, java.util.Optional.ofNullable(trustRefresh),
                    earlyRenewSpread, rootReload, java.util.Optional.ofNullable(registrationEntries), gatewayEntries,
                    entriesRefresh);
        }
    }

    static java.net.InetSocketAddress hostPort(String text) {
        int colon = text.lastIndexOf(':');
        try {
            if (colon <= 0) {
                throw new NumberFormatException();
            }
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
            return java.net.InetSocketAddress.createUnresolved(text.substring(0, colon), port);
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(new CommandLine(new AgentCli()),
                    "--gateway-egress '" + text + "' is not host:port with a port in 1-65535");
        }
    }

    /** Service registration and local egress settings (both optional), and how the agent follows trust changes. */
    record Extras(java.util.List<io.isthmus.agent.services.AgentService> services, java.time.Duration heartbeatInterval,
            java.net.InetSocketAddress gatewayEgress, int egressPort, String meshSuffix,
            java.util.Optional<java.time.Duration> trustRefresh, java.time.Duration earlyRenewSpread,
            java.time.Duration rootReload, java.util.Optional<Path> registrationEntries, boolean gatewayEntries,
            java.time.Duration entriesRefresh) {
    }

    static final class DurationConverter implements CommandLine.ITypeConverter<java.time.Duration> {
        @Override
        public java.time.Duration convert(String value) {
            String v = value.trim().toLowerCase(java.util.Locale.ROOT);
            if (v.endsWith("ms")) {
                return java.time.Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            }
            if (v.endsWith("s")) {
                return java.time.Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
            }
            if (v.endsWith("m")) {
                return java.time.Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
            }
            return java.time.Duration.parse(value);
        }
    }

    @Command(name = "join", description = "Enrol with a one-use join token, store the SVID, then keep it renewed and serve it.")
    static final class Join extends Serving implements Callable<Integer> {
        @Option(names = "--gateway", required = true, description = "The cluster gateway, https://host:15012")
        java.net.URI gateway;

        @ArgGroup(exclusive = true, multiplicity = "1")
        TokenSource token;

        static final class TokenSource {
            @Option(names = "--token", description = "The join token printed by 'isthmus token create'.")
            String text;

            @Option(names = "--token-file", description = "File holding the join token (keeps it out of ps output).")
            Path file;
        }

        @Option(names = "--root-ca", required = true, description = "Federation root certificate(s), PEM.")
        Path rootCa;

        static final String TRUST_DOMAIN_REQUIRED = "--trust-domain is required: the agent sends its join token only "
                + "to a gateway of that trust domain (the one the token was made for), e.g. --trust-domain alpha.acme.internal";

        // Required as SPIRE's agent requires trust_domain: every gateway of the federation holds an SVID that verifies
        // under the federation root, so without it whichever answered at --gateway (a peer cluster's gateway, or
        // anyone with such an SVID on the path) would be sent the join token, and could redeem it at the real gateway.
        @Option(names = "--trust-domain", required = true, paramLabel = "<td>", description = "The trust domain of the "
                + "cluster the join token was made for, e.g. alpha.acme.internal (required). The token is sent only after "
                + "the gateway presents that trust domain's gateway SVID (path " + GatewayClient.GATEWAY_PATH + "); a "
                + "gateway of any other federated trust domain is refused.")
        String trustDomain;

        @Option(names = "--exit-after-join", description = "Enrol, store the state and exit (start 'run' later).")
        boolean exitAfterJoin;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            TrustDomain td;
            try {
                td = TrustDomain.parse(trustDomain);
            } catch (RuntimeException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--trust-domain '" + trustDomain
                        + "' is not a trust domain name (e.g. alpha.acme.internal): " + e.getMessage());
            }
            FederationRoots roots = new FederationRoots(Pem.readCertificates(rootCa));
            String tokenText = token.text != null ? token.text
                    : Files.readString(token.file, StandardCharsets.UTF_8).trim();
            GatewayClient.Issued issued;
            try {
                issued = new GatewayClient(gateway, roots, td, Clock.systemUTC()).enrol(tokenText);
            } catch (GatewayException e) {
                throw new IllegalStateException("enrolment failed: " + e.getMessage(), e);
            }
            AgentState state = new AgentState(gateway, td, issued.svid(), issued.bundles());
            StateDir dir = new StateDir(stateDir);
            dir.save(state);
            Files.copy(rootCa, stateDir.resolve(ROOT_FILE), StandardCopyOption.REPLACE_EXISTING);
            LOG.infof("enrolled as %s (SVID serial %s, valid until %s); state in %s", state.svid().id(),
                    Certificates.serialHex(state.svid().leaf()), state.svid().notAfter(), stateDir);
            if (exitAfterJoin) {
                return 0;
            }
            return serve(state, dir, rootCa, socket, extras());
        }
    }

    @Command(name = "run", description = "Run from the state a previous 'join' left: renew, refresh bundles, serve.")
    static final class Run extends Serving implements Callable<Integer> {
        @Option(names = "--root-ca", description = "Federation root certificate(s) (default: the copy in the state dir).")
        Path rootCa;

        @Override
        public Integer call() throws Exception {
            StateDir dir = new StateDir(stateDir);
            if (!dir.exists()) {
                throw new IllegalStateException("no agent state in " + stateDir + "; run 'isthmus-agent join' first");
            }
            AgentState state = dir.load();
            LOG.infof("restarting as %s (SVID serial %s, valid until %s)", state.svid().id(),
                    Certificates.serialHex(state.svid().leaf()), state.svid().notAfter());
            return serve(state, dir, rootCa != null ? rootCa : stateDir.resolve(ROOT_FILE), socket, extras());
        }
    }

    /** The registration entries, checked against the VM's ID (a bad file fails the start, naming the entry). */
    static io.isthmus.agent.attest.WorkloadAttestation attestation(Extras extras, AgentState state)
            throws java.io.IOException {
        if (extras.registrationEntries().isEmpty() && !extras.gatewayEntries()) {
            LOG.infof("workload attestation is off (no --registration-entries, no --gateway-entries): entries set at the "
                    + "gateway are not used, and every local caller of the Workload API "
                    + "gets this VM's SVID %s", state.svid().id());
            return io.isthmus.agent.attest.WorkloadAttestation.off();
        }
        if (extras.registrationEntries().isEmpty()) {
            LOG.infof("workload attestation is on: registration entries from gateway %s only (--gateway-entries); "
                    + "every caller is refused until it has some", state.gateway());
            return io.isthmus.agent.attest.WorkloadAttestation.unix(java.util.List.of());
        }
        java.util.List<io.isthmus.trust.attest.RegistrationEntry> entries = io.isthmus.agent.attest.RegistrationEntries
                .read(extras.registrationEntries().get(), state.svid().id());
        if (entries.isEmpty() && !extras.gatewayEntries()) {
            throw new IllegalStateException(extras.registrationEntries().get() + " lists no entries: with attestation on, "
                    + "every caller would be refused; add entries, add --gateway-entries to take them from the gateway, or "
                    + "leave --registration-entries out");
        }
        LOG.infof("workload attestation is on: %d registration entries from %s, and those gateway %s holds for this "
                + "agent", entries.size(), extras.registrationEntries().get(), state.gateway());
        return io.isthmus.agent.attest.WorkloadAttestation.unix(entries);
    }

    /**
     * Runs the agent until SIGTERM. {@code rootFile} is watched: new federation roots (a root rotation) apply to the
     * next handshake with the gateway, and are copied into the state directory for the next {@code run}.
     */
    static int serve(AgentState state, StateDir dir, Path rootFile, Path socket, Extras extras) throws Exception {
        java.util.concurrent.atomic.AtomicReference<FederationRoots> roots =
                new java.util.concurrent.atomic.AtomicReference<>(new FederationRoots(Pem.readCertificates(rootFile)));
        io.isthmus.trust.reload.WatchedFiles rootWatch = new io.isthmus.trust.reload.WatchedFiles("the federation roots",
                java.util.List.of(rootFile), () -> {
                    FederationRoots next = new FederationRoots(Pem.readCertificates(rootFile));
                    roots.set(next);
                    if (!rootFile.toAbsolutePath().equals(dir.path().resolve(ROOT_FILE).toAbsolutePath())) {
                        io.isthmus.trust.files.AtomicFiles.write(dir.path().resolve(ROOT_FILE), Files.readString(rootFile));
                    }
                    LOG.infof("federation roots now %s", next.certificates().stream().map(Certificates::serialHex).toList());
                });
        java.util.concurrent.ScheduledExecutorService watcher = java.util.concurrent.Executors
                .newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("isthmus-agent-roots").factory());
        watcher.scheduleWithFixedDelay(rootWatch::check, extras.rootReload().toMillis(), extras.rootReload().toMillis(),
                java.util.concurrent.TimeUnit.MILLISECONDS);
        GatewayClient client = new GatewayClient(state.gateway(), roots::get, state.trustDomain(), Clock.systemUTC());
        io.isthmus.agent.attest.WorkloadAttestation attestation = attestation(extras, state);
        CountDownLatch stopped = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        // Closed last added first, so that whoever hands work to another stops before it: the runtime tells the API,
        // the workload SVIDs and the entries' puller of every new state, the puller tells the workload SVIDs of new
        // IDs, the workload SVIDs tell the API of new SVIDs. Each lets a call in progress (a renewal, a pull) finish,
        // and what it hands on must still be taken: a worker already stopped refused it, and the runtime logged that
        // as a failed listener, WARN with a stack trace. The root watcher, too, finishes a check in progress (an
        // interrupted copy of a changed root file was a WARN).
        java.util.List<AutoCloseable> closeables = new java.util.ArrayList<>();
        closeables.add(() -> io.isthmus.trust.concurrent.Workers.stop(watcher, AgentRuntime.STOP_GRACE));
        try {
            // Nothing runs before start(): if the API server cannot start, these have nothing to stop.
            AgentRuntime runtime = new AgentRuntime(state, dir, client, Clock.systemUTC(), AgentRuntime.defaultBackoff(),
                    extras.trustRefresh(), extras.earlyRenewSpread());
            io.isthmus.agent.workloadsvid.WorkloadSvids workloads = new io.isthmus.agent.workloadsvid.WorkloadSvids(
                    attestation.workloadIds(state.svid().id()), runtime::current, client, Clock.systemUTC(),
                    AgentRuntime.defaultBackoff());
            WorkloadApiServer api = WorkloadApiServer.start(socket, runtime::current, attestation, workloads::get,
                    io.isthmus.agent.jwt.JwtSvidCache.fromGateway(client, runtime::current, Clock.systemUTC()));
            closeables.add(api);
            closeables.add(workloads);
            io.isthmus.agent.entries.EntrySync sync = attestation.enabled() ? new io.isthmus.agent.entries.EntrySync(
                    state.svid().id(), state.gateway(), () -> client.registrationEntries(runtime.current().svid(),
                            runtime.current().bundles()), attestation, extras.registrationEntries(),
                    attestation.entries(), workloads::follow, extras.entriesRefresh()) : null;
            if (sync != null) {
                closeables.add(sync);
            }
            closeables.add(runtime);
            runtime.addListener(api::publish);
            runtime.addListener(workloads::agentChanged);
            if (sync != null) {
                runtime.addListener(s -> sync.pullSoon());
            }
            workloads.onChange(() -> api.publish(runtime.current()));
            runtime.start();
            workloads.start();
            if (sync != null) {
                sync.start();
            }
            io.isthmus.trust.tls.SvidSource svid = () -> runtime.current().svid();
            io.isthmus.trust.bundle.BundleSource bundles = td -> runtime.current().bundles().bundleFor(td);
            if (!extras.services().isEmpty()) {
                io.isthmus.agent.services.ServiceRegistrar registrar = new io.isthmus.agent.services.ServiceRegistrar(
                        state.gateway(), client.httpClient(svid, bundles), extras.services(), extras.heartbeatInterval(),
                        AgentRuntime.defaultBackoff());
                closeables.add(registrar);
                registrar.start();
            }
            if (extras.gatewayEgress() != null) {
                // Destinations that accept passthrough are called end to end with the VM's own SVID.
                io.isthmus.agent.egress.PassthroughRoutes passthrough = new io.isthmus.agent.egress.PassthroughRoutes(
                        state.gateway(), client.httpClient(svid, bundles), extras.gatewayEgress(), svid, roots::get, bundles,
                        extras.meshSuffix(), Clock.systemUTC());
                closeables.add(io.isthmus.agent.egress.LocalEgress.start(new java.net.InetSocketAddress("127.0.0.1",
                        extras.egressPort()), extras.gatewayEgress(), client.httpClient(svid, bundles), passthrough));
            }
            LOG.infof("serving the SPIFFE Workload API on unix:%s", socket.toAbsolutePath());
            // On SIGTERM the JVM halts as soon as its hooks return: this hook waits (bounded) until the services
            // are unregistered and the egress closed below.
            AgentLogManager.holdDuringShutdown();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stopped.countDown();
                try {
                    closed.await(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    AgentLogManager.release();
                }
            }, "isthmus-agent-shutdown"));
            stopped.await();
            LOG.info("stopping");
        } finally {
            try {
                for (AutoCloseable c : closeables.reversed()) {
                    c.close();
                }
            } finally {
                closed.countDown();
            }
        }
        return 0;
    }
}
