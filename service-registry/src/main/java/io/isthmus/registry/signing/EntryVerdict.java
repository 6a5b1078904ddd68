package io.isthmus.registry.signing;

import io.isthmus.registry.RegistryRecord;
import io.isthmus.trust.spiffe.SpiffeId;

/** Whether a site uses a record: accepted with its signer, or refused with the exact reason. */
public sealed interface EntryVerdict {
    /** {@code signer} is absent only for a registry that signs nothing (one process, no replication). */
    record Accepted(RegistryRecord record, java.util.Optional<SpiffeId> signer) implements EntryVerdict {
    }

    /** {@code message} is for the operator: it names the key, the signer and what was expected. */
    record Refused(EntryRefusal reason, String message) implements EntryVerdict {
    }
}
