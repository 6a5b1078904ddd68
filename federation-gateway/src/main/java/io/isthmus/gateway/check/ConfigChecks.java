package io.isthmus.gateway.check;

import java.util.ArrayList;
import java.util.List;

import io.isthmus.gateway.status.FileView;
import io.isthmus.gateway.status.SelfView;

/** Configuration consistency and the files the gateway reads. Pure. */
final class ConfigChecks {
    static final String CONFIG = "configuration";
    static final String FILES = "file-permissions";

    private ConfigChecks() {
    }

    static List<CheckResult> run(SelfView self) {
        List<CheckResult> results = new ArrayList<>();
        if (self.configProblems().isEmpty()) {
            results.add(CheckResult.pass(CONFIG, "", "peers, registry sites, policy source and path normalization"
                    + " (" + self.pathNormalization() + ") agree"));
        }
        for (String problem : self.configProblems()) {
            int colon = problem.indexOf(": ");
            results.add(CheckResult.fail(CONFIG, "", colon < 0 ? problem : problem.substring(0, colon),
                    colon < 0 ? "see the gateway configuration" : problem.substring(colon + 2)));
        }
        List<CheckResult> files = new ArrayList<>();
        for (FileView f : self.files()) {
            file(f).ifPresent(files::add);
        }
        if (files.isEmpty()) {
            results.add(CheckResult.pass(FILES, "", self.files().size() + " files present, readable by the gateway,"
                    + " secrets readable by no other user"));
        }
        results.addAll(files);
        return results;
    }

    /** A failure about {@code f}, or empty when it is fine. */
    static java.util.Optional<CheckResult> file(FileView f) {
        String subject = f.key();
        if (!f.exists()) {
            return java.util.Optional.of(CheckResult.fail(FILES, subject, f.path() + " does not exist",
                    "create it, or point " + f.key() + " at the right file"));
        }
        if (!f.readable()) {
            return java.util.Optional.of(CheckResult.fail(FILES, subject, f.path() + " is not readable by the gateway"
                    + " (owner " + f.owner().orElse("?") + ", " + f.permissions().orElse("?") + ")",
                    "chown it to the gateway's user, or give its group read access"));
        }
        if (f.permissions().isEmpty()) {
            return java.util.Optional.empty();
        }
        String p = f.permissions().get();
        boolean otherRead = p.charAt(6) == 'r';
        boolean otherWrite = p.charAt(7) == 'w';
        boolean groupWrite = p.charAt(4) == 'w';
        if (f.secret() && (otherRead || otherWrite || groupWrite)) {
            return java.util.Optional.of(CheckResult.fail(FILES, subject, f.path() + " holds a secret and is " + p
                    + (otherRead ? ": every user on the host can read it" : ": others can change it"),
                    "chmod 0600 " + f.path() + " (or 0640 with the gateway's group), then rotate the secret if"
                            + " anyone may have copied it"));
        }
        if (otherWrite || (!f.secret() && groupWrite && !f.key().equals("isthmus.data-dir"))) {
            return java.util.Optional.of(CheckResult.fail(FILES, subject, f.path() + " is " + p
                    + ": users other than its owner can replace what the gateway trusts",
                    "chmod go-w " + f.path()));
        }
        return java.util.Optional.empty();
    }
}
