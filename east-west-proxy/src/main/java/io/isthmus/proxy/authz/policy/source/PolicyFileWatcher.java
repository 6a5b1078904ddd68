package io.isthmus.proxy.authz.policy.source;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.proxy.authz.policy.PolicyViolation;

/**
 * Keeps the {@link PolicyStore}'s {@code file} source in step with a YAML file. It polls (rather than using a
 * {@code WatchService}) because Kubernetes ConfigMap volumes replace files through symlink swaps that inotify
 * watches on the file miss; a poll compares the content's SHA-256, so an editor's in-place rewrite, an atomic
 * rename and a symlink swap all count, and a touch without change does not.
 *
 * <p>A changed file is applied only once two reads a moment apart agree, so a file caught mid-write is not
 * applied. Writing it atomically (to a temporary file, then renamed) is still best.
 *
 * <p>A file that is missing, unreadable or invalid leaves the previous good policies in force; the failure is
 * logged with every field path, counted and reported through {@link #status()} and the listener. At startup
 * with no good file yet, the source contributes no policy, so everything is denied by default.
 *
 * <p>{@link #poll()} may be called directly (tests); {@link #start()} polls on a daemon thread until
 * {@link #close()}. Thread-safe.
 */
public final class PolicyFileWatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(PolicyFileWatcher.class);
    public static final String SOURCE = "file";

    private final Path file;
    private final PolicyStore store;
    private final Clock clock;
    private final Duration interval;
    private final Consumer<ReloadStatus> listener;
    private byte[] lastDigest;
    private volatile ReloadStatus status = ReloadStatus.initial(SOURCE);
    private ScheduledExecutorService executor;

    /**
     * @param listener called after every load attempt that changed something (success or failure), on the polling
     *                 thread; must not block
     */
    public PolicyFileWatcher(Path file, PolicyStore store, Clock clock, Duration interval,
            Consumer<ReloadStatus> listener) {
        this.file = Objects.requireNonNull(file, "file");
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.interval = Objects.requireNonNull(interval, "interval");
        this.listener = Objects.requireNonNull(listener, "listener");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("policy file poll interval must be positive, got " + interval);
        }
    }

    public ReloadStatus status() {
        return status;
    }

    public Path file() {
        return file;
    }

    /** Loads the file now and polls it every interval from a daemon thread. */
    public synchronized void start() {
        if (executor != null) {
            return;
        }
        poll();
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-authz-policy-file");
            t.setDaemon(true);
            return t;
        });
        long ms = interval.toMillis();
        executor.scheduleWithFixedDelay(this::pollQuietly, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void pollQuietly() {
        try {
            poll();
        } catch (RuntimeException e) {
            LOG.errorf(e, "policy file %s: unexpected failure while polling; previous policies stay in force", file);
        }
    }

    /**
     * Reads the file and, if its content changed since the last attempt, applies or rejects it.
     *
     * @return true when the content changed (whether or not it was valid)
     */
    public synchronized boolean poll() {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return fail(null, List.of(new PolicyViolation(file.toString(), "file not found; previous policies "
                    + "stay in force (check isthmus.authz.policy-file)")));
        } catch (IOException e) {
            return fail(null, List.of(new PolicyViolation(file.toString(), "could not be read: " + e)));
        }
        byte[] digest = sha256(content);
        if (Arrays.equals(digest, lastDigest)) {
            return false;
        }
        if (!settled(digest)) {
            // Caught mid-write (an editor truncates, then writes): an empty or half file must not become the
            // policy, not even for one interval. The next poll sees the finished file.
            return false;
        }
        lastDigest = digest;
        try {
            List<AuthorizationPolicy> policies = PolicyYaml.parse(new String(content, StandardCharsets.UTF_8),
                    file.toString());
            store.update(SOURCE, policies);
            status = status.succeeded(policies.size(), clock.instant());
            LOG.infof("policy file %s: %d AuthorizationPolicies in force", file, policies.size());
        } catch (InvalidPolicyException e) {
            LOG.errorf("policy file %s rejected, previous %d policies stay in force: %s", file, status.policies(),
                    e.getMessage());
            status = status.failed(e.violations(), clock.instant());
        }
        listener.accept(status);
        return true;
    }

    /** Reads the file again a moment later: true when it still has the same content. */
    private boolean settled(byte[] digest) {
        try {
            Thread.sleep(Math.min(100, Math.max(1, interval.toMillis() / 4)));
            return Arrays.equals(digest, sha256(Files.readAllBytes(file)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean fail(byte[] digest, List<PolicyViolation> errors) {
        boolean changed = !errors.equals(status.lastErrors()) || lastDigest != null;
        lastDigest = digest;
        if (changed) {
            LOG.errorf("policy file %s: %s", file, errors.get(0).message());
            status = status.failed(errors, clock.instant());
            listener.accept(status);
        }
        return changed;
    }

    private static byte[] sha256(byte[] content) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(content);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every JDK", e);
        }
    }

    @Override
    public synchronized void close() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }
}
