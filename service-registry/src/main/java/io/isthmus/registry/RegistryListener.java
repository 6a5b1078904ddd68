package io.isthmus.registry;

/**
 * Told about every change of the registry, local or replicated from another site. Called synchronously on the
 * thread that applied the change (a caller's thread or an Infinispan remote-command thread): implementations
 * must be fast and must not block or write to the registry; hand work to a queue instead.
 */
public interface RegistryListener {
    /** An entry was created or replaced ({@code previous} null when created). */
    void exported(ExportedService current, ExportedService previous);

    /** An entry was removed by its owner. */
    void unexported(ExportedService previous);
}
