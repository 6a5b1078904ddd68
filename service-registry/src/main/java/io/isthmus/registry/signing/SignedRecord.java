package io.isthmus.registry.signing;

import java.util.Objects;
import java.util.Optional;

import io.isthmus.registry.RegistryRecord;

/**
 * A record as it arrived: what it says, the exact bytes that were (or should have been) signed, and the signature,
 * absent when the writer signed nothing (a gateway from before signed entries, or a forger).
 */
public record SignedRecord(RegistryRecord record, byte[] signedBytes, Optional<EntrySignature> signature) {
    public SignedRecord {
        Objects.requireNonNull(record, "record");
        Objects.requireNonNull(signedBytes, "signedBytes");
        Objects.requireNonNull(signature, "signature");
        signedBytes = signedBytes.clone();
    }

    @Override
    public byte[] signedBytes() {
        return signedBytes.clone();
    }
}
