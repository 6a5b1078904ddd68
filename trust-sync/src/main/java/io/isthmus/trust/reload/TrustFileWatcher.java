package io.isthmus.trust.reload;

import java.util.List;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.x509.Pem;

/**
 * Watches a gateway's CA files ({@link CaFiles}) and hands new content, parsed and checked, to the trust runtime:
 * the roots to {@link Sink#roots}, a new intermediate (a key and a chain that belong together) to
 * {@link Sink#intermediate}. See {@link WatchedFiles} for how changes are seen and refusals retried.
 */
public final class TrustFileWatcher {

    /** Where checked content goes. Throwing refuses it (the message is logged once); it is offered again later. */
    public interface Sink {
        void roots(FederationRoots roots);

        void intermediate(CaCredential intermediate);
    }

    private final CaFiles files;
    private final WatchedFiles roots;
    private final WatchedFiles intermediate;

    public TrustFileWatcher(CaFiles files, Sink sink) {
        this.files = files;
        this.roots = new WatchedFiles("the federation roots", List.of(files.roots()),
                () -> sink.roots(new FederationRoots(Pem.readCertificates(files.roots()))));
        this.intermediate = new WatchedFiles("the intermediate key and chain",
                List.of(files.intermediateKey(), files.intermediateChain()),
                () -> sink.intermediate(new CaCredential(Pem.readPrivateKey(files.intermediateKey()),
                        Pem.readCertificates(files.intermediateChain()))));
    }

    public CaFiles files() {
        return files;
    }

    /** Looks at the files once; applies what changed. Never throws. */
    public void check() {
        roots.check();
        intermediate.check();
    }
}
