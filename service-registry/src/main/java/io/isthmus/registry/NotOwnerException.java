package io.isthmus.registry;

/** A write for a key of another cluster: only the owning cluster writes its keys, so sites never conflict. */
public final class NotOwnerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final ServiceKey key;

    public NotOwnerException(ServiceKey key, String owner) {
        super("cluster '" + owner + "' may not write " + key + ": it belongs to cluster '" + key.cluster()
                + "'; only the owning cluster exports, updates or unexports its services");
        this.key = key;
    }

    public ServiceKey key() {
        return key;
    }
}
