package io.isthmus.trust.federation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.files.AtomicFiles;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * The bundles of every federated trust domain, the local one included, as one immutable {@link BundleSet}
 * behind an atomic reference. Each accepted bundle is written to {@code <dir>/<trust domain>.json} (SPIFFE
 * bundle format, atomic rename) before it is swapped in, so that a restart or a peer outage loses nothing.
 *
 * <p>Listeners run after the swap, on the thread that called {@link #put}; they must not block.
 */
public final class BundleStore implements BundleSource {
    private static final Logger LOG = Logger.getLogger(BundleStore.class);

    private final Path dir;
    private final BundleCodec codec;
    private final AtomicReference<Swap> bundles = new AtomicReference<>(new Swap(0, BundleSet.empty()));
    private final List<Consumer<Swap>> listeners = new CopyOnWriteArrayList<>();
    /** Orders every swap (and its file) with the others: a guarded put and a removal never interleave. */
    private final Object swaps = new Object();

    /** @param dir where bundles are persisted; null keeps them in memory only */
    public BundleStore(Path dir, BundleCodec codec) {
        this.dir = dir;
        this.codec = codec;
    }

    public BundleSet snapshot() {
        return bundles.get().bundles();
    }

    /** The bundle set in force with the number of the swap that made it. */
    public Swap current() {
        return bundles.get();
    }

    /**
     * One swap of the store: {@code generation} counts the swaps (1 for the first; 0 before any), so that a listener
     * told of two swaps in the other order (listeners run outside the lock, on the swapping threads) can keep the newer
     * one ({@link BundleGeneration#supersedes}).
     */
    public record Swap(long generation, BundleSet bundles) {
        public Swap {
            java.util.Objects.requireNonNull(bundles, "bundles");
        }

        Swap next(BundleSet set) {
            return new Swap(generation + 1, set);
        }
    }

    @Override
    public Optional<TrustBundle> bundleFor(TrustDomain trustDomain) {
        return bundles.get().bundles().bundleFor(trustDomain);
    }

    /** {@code listener} is told of every swap, on the swapping thread, after the lock; two may arrive out of order. */
    public void addListener(Consumer<Swap> listener) {
        listeners.add(listener);
    }

    /**
     * Persists and installs {@code bundle}. A failure to write is logged and rethrown after the in-memory swap:
     * a newer bundle (possibly a revocation) must take effect even when the disk is full.
     */
    public void put(TrustBundle bundle) throws IOException {
        putIf(bundle, () -> true);
    }

    /**
     * As {@link #put}, only if {@code wanted} still holds when the swap is made: it is evaluated under the same lock as
     * {@link #remove}, so a caller that makes {@code wanted} false before removing a trust domain can be sure that no
     * put of it lands after the removal. Listeners run outside the lock.
     *
     * @return whether the bundle was installed
     */
    public boolean putIf(TrustBundle bundle, BooleanSupplier wanted) throws IOException {
        IOException writeFailure = null;
        Swap updated;
        synchronized (swaps) {
            if (!wanted.getAsBoolean()) {
                return false;
            }
            if (dir != null) {
                try {
                    write(bundle);
                } catch (IOException e) {
                    writeFailure = e;
                    LOG.errorf("could not persist the bundle of %s, sequence %d, to %s: %s (it is in force in memory)",
                            bundle.trustDomain(), bundle.sequence(), dir, e);
                }
            }
            updated = bundles.updateAndGet(s -> s.next(s.bundles().with(bundle)));
        }
        notifyListeners(updated);
        if (writeFailure != null) {
            throw writeFailure;
        }
        return true;
    }

    /**
     * Forgets the bundle of {@code td} (a peer that left the federation): its file is deleted and its SVIDs stop
     * verifying. Listeners run as for {@link #put}.
     */
    public void remove(TrustDomain td) throws IOException {
        Swap updated;
        synchronized (swaps) {
            if (dir != null) {
                Files.deleteIfExists(fileOf(td));
            }
            updated = bundles.updateAndGet(s -> s.next(s.bundles().without(td)));
        }
        notifyListeners(updated);
    }

    private void notifyListeners(Swap updated) {
        for (Consumer<Swap> listener : listeners) {
            try {
                listener.accept(updated);
            } catch (RuntimeException e) {
                LOG.warnf(e, "bundle listener failed");
            }
        }
    }

    /** Reads the persisted bundle of {@code td}, if there is one. The caller validates it before use. */
    public Optional<ParsedBundle> readPersisted(TrustDomain td) throws IOException {
        if (dir == null) {
            return Optional.empty();
        }
        Path file = fileOf(td);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(codec.parse(td, Files.readAllBytes(file), file.toString()));
    }

    public Path fileOf(TrustDomain td) {
        return dir.resolve(td.name() + ".json");
    }

    private void write(TrustBundle bundle) throws IOException {
        AtomicFiles.write(fileOf(bundle.trustDomain()), codec.toJson(bundle));
    }
}
