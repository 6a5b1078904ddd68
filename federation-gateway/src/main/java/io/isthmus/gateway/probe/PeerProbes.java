package io.isthmus.gateway.probe;

import java.util.Objects;

import io.isthmus.gateway.status.ClockView;
import io.isthmus.gateway.status.ProbeView;

/** One probe round's findings about one peer: its ingress, and its clock. */
public record PeerProbes(ProbeView ingress, ClockView clock) {
    public PeerProbes {
        Objects.requireNonNull(ingress, "ingress");
        Objects.requireNonNull(clock, "clock");
    }
}
