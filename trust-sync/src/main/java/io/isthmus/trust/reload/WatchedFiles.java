package io.isthmus.trust.reload;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.jboss.logging.Logger;

/**
 * A group of files whose content is applied together when it changes: the federation roots, an intermediate's key
 * and chain. Changes are detected by content (SHA-256 over the files), not by modification time or file events: a
 * Kubernetes Secret update swaps a {@code ..data} symlink under the files, which neither reliably changes their
 * mtime nor fires an event on their paths.
 *
 * <p>When {@link #check()} sees new content it calls {@code apply}, which reads and applies the files itself; if
 * {@code apply} throws (a file half-written, a key that does not match its chain yet, a change that is refused), the
 * content counts as not applied and is offered again at the next check. Each distinct problem is logged once.
 * Not thread-safe: one scheduler thread calls {@link #check()}.
 */
public final class WatchedFiles {
    private static final Logger LOG = Logger.getLogger(WatchedFiles.class);

    /** Reads the files and puts their content in force; throws to refuse it. */
    @FunctionalInterface
    public interface Apply {
        void apply() throws Exception;
    }

    private final String what;
    private final List<Path> paths;
    private final Apply apply;
    private String applied;
    private String lastProblem;

    /** Takes the files' current content as applied already (it was loaded at start). */
    public WatchedFiles(String what, List<Path> paths, Apply apply) {
        this.what = what;
        this.paths = List.copyOf(paths);
        this.apply = apply;
        this.applied = fingerprint(this.paths);
    }

    /** Applies the files if their content changed since it was last applied. Never throws. */
    public void check() {
        String now = fingerprint(paths);
        if (now == null || now.equals(applied)) {
            return;
        }
        try {
            apply.apply();
            applied = now;
            if (lastProblem != null) {
                LOG.infof("%s in %s applied", what, paths);
            }
            lastProblem = null;
        } catch (Exception e) {
            String message = what + " in " + paths + " not applied (the one in force stays; retried while the files "
                    + "change or the refusal may go away): " + e.getMessage();
            if (!message.equals(lastProblem)) {
                LOG.warn(message);
            }
            lastProblem = message;
        }
    }

    /** SHA-256 over the files' contents (following symlinks), or null when one cannot be read right now. */
    static String fingerprint(List<Path> paths) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            List<byte[]> contents = new ArrayList<>();
            for (Path p : paths) {
                contents.add(Files.readAllBytes(p));
            }
            for (byte[] c : contents) {
                digest.update(Integer.toString(c.length).getBytes(StandardCharsets.US_ASCII));
                digest.update(c);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
