package io.isthmus.agent.attest;

import io.isthmus.trust.attest.InvalidSelectorException;
import io.isthmus.trust.attest.Selector;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Derives the selectors of SPIRE's unix workload attestor (with {@code discover_workload_path} on) from a caller's
 * peer credentials: uid, user, gid, group, the path of its binary and the SHA-256 of that binary, read from
 * {@code /proc} at call time. The agent must be able to read {@code /proc/<pid>/exe}: run it as root, or as the
 * workloads' user.
 *
 * <p>PIDs are reused. The binary is hashed through {@code /proc/<pid>/exe} (the inode the process runs, even if
 * the file was replaced since), and the process's start time is read before and after: if the process is gone or
 * was replaced by another with the same PID in between, the call is refused. A PID reused between the connect and
 * the first read, with a process of the same start time, is the remaining window (SPIRE has the same one without
 * pidfd).
 */
public final class UnixAttestor {
    private final Path proc;
    private final Path passwd;
    private final Path group;

    public UnixAttestor() {
        this(Path.of("/proc"), Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    UnixAttestor(Path proc, Path passwd, Path group) {
        this.proc = proc;
        this.passwd = passwd;
        this.group = group;
    }

    public Set<Selector> attest(Caller caller) throws AttestationException {
        Path dir = proc.resolve(Integer.toString(caller.pid()));
        String startBefore = startTime(dir, caller);
        Path exe;
        String sha256;
        try {
            exe = Files.readSymbolicLink(dir.resolve("exe"));
            sha256 = sha256(dir.resolve("exe"));
        } catch (NoSuchFileException e) {
            throw gone(caller, e);
        } catch (IOException e) {
            throw new AttestationException("cannot read the binary of caller pid " + caller.pid() + " (" + e.getMessage()
                    + "); the agent must run as root or as the workload's user to attest it", e);
        }
        if (!startBefore.equals(startTime(dir, caller))) {
            throw new AttestationException("caller pid " + caller.pid() + " was replaced by another process while it was "
                    + "attested", null);
        }
        Set<Selector> selectors = new TreeSet<>();
        selectors.add(Selector.of(Selector.Kind.UID, Integer.toUnsignedString(caller.uid())));
        selectors.add(Selector.of(Selector.Kind.GID, Integer.toUnsignedString(caller.gid())));
        nameOf(passwd, caller.uid()).ifPresent(n -> selectors.add(Selector.of(Selector.Kind.USER, n)));
        nameOf(group, caller.gid()).ifPresent(n -> selectors.add(Selector.of(Selector.Kind.GROUP, n)));
        // A binary deleted or replaced after start shows as "<path> (deleted)": no path selector then, only the hash.
        String path = exe.toString();
        if (!path.endsWith(" (deleted)")) {
            selectors.add(Selector.of(Selector.Kind.PATH, path));
        }
        selectors.add(Selector.of(Selector.Kind.SHA256, sha256));
        return selectors;
    }

    /** Field 22 of /proc/<pid>/stat, counted after the command name (which may hold spaces and parentheses). */
    private static String startTime(Path dir, Caller caller) throws AttestationException {
        try {
            String stat = Files.readString(dir.resolve("stat"));
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return rest[19];
        } catch (NoSuchFileException e) {
            throw gone(caller, e);
        } catch (IOException | RuntimeException e) {
            throw new AttestationException("cannot read /proc/" + caller.pid() + "/stat: " + e.getMessage(), e);
        }
    }

    private static AttestationException gone(Caller caller, Exception e) {
        return new AttestationException("caller pid " + caller.pid() + " (uid " + caller.uid() + ") is gone", e);
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = in.read(buffer)) > 0;) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The name of {@code id} in a passwd- or group-format file (name:x:id:...), if it has one that is usable. */
    static Optional<String> nameOf(Path file, int id) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            return Optional.empty();
        }
        String wanted = Integer.toUnsignedString(id);
        for (String line : lines) {
            String[] f = line.split(":", -1);
            if (f.length > 2 && f[2].equals(wanted)) {
                try {
                    return Optional.of(Selector.of(Selector.Kind.USER, f[0]).value());
                } catch (InvalidSelectorException e) {
                    return Optional.empty();
                }
            }
        }
        return Optional.empty();
    }
}
