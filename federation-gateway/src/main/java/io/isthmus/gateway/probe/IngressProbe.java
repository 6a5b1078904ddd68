package io.isthmus.gateway.probe;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;

import io.isthmus.gateway.status.ProbeView;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Probes a peer's ingress as the egress would reach it: mutual TLS with this gateway's SVID; the ingress must
 * present an SVID of the peer's trust domain. Sends no request, so nothing reaches a backend and no policy decides.
 *
 * <p>With TLS 1.3 the client's handshake completes before the server has judged the client certificate, so a
 * peer that refuses this gateway's SVID says so only afterwards, with an alert. The probe therefore waits briefly
 * for one: an alert or a close is a refusal; silence (the ingress waiting for a request) is acceptance.
 */
final class IngressProbe {
    /** Long enough for a refusal alert that follows the handshake on a loaded host; a probe round waits for it. */
    static final Duration REFUSAL_WAIT = Duration.ofMillis(300);

    private final PeerTls tls;
    private final Clock clock;

    IngressProbe(PeerTls tls, Clock clock) {
        this.tls = tls;
        this.clock = clock;
    }

    ProbeView probe(TrustDomain td, Optional<String> address, Duration timeout) {
        if (address.isEmpty()) {
            return new ProbeView(Optional.empty(), true, Optional.empty(), Optional.empty(), 0, clock.instant());
        }
        String hostPort = address.get();
        int colon = hostPort.lastIndexOf(':');
        long start = System.nanoTime();
        try (SSLSocket socket = tls.connect(td, hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)),
                timeout)) {
            long millis = (System.nanoTime() - start) / 1_000_000;
            SpiffeId id = PeerTls.peerId(socket);
            Optional<String> refusal = refusal(socket);
            return new ProbeView(address, refusal.isEmpty(), Optional.of(id.toString()),
                    refusal.map(r -> hostPort + ": " + r), millis, clock.instant());
        } catch (ProbeException e) {
            return new ProbeView(address, false, Optional.empty(), Optional.of(e.getMessage()),
                    (System.nanoTime() - start) / 1_000_000, clock.instant());
        } catch (IOException | RuntimeException e) {
            return new ProbeView(address, false, Optional.empty(), Optional.of(hostPort + ": " + e),
                    (System.nanoTime() - start) / 1_000_000, clock.instant());
        }
    }

    private static Optional<String> refusal(SSLSocket socket) throws IOException {
        socket.setSoTimeout((int) REFUSAL_WAIT.toMillis());
        try {
            int b = socket.getInputStream().read();
            return Optional.of(b < 0 ? "the ingress closed the connection right after the handshake: it does not"
                    + " accept this gateway's SVID (does it hold this trust domain's bundle?)"
                    : "the ingress sent data before any request");
        } catch (SocketTimeoutException e) {
            return Optional.empty();
        } catch (SSLException e) {
            return Optional.of("the ingress refused this gateway's SVID after the handshake (" + e.getMessage()
                    + "): does it hold this trust domain's current bundle?");
        }
    }
}
