package io.isthmus.gateway.probe;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;

import javax.net.ssl.SSLSocket;

import io.isthmus.gateway.status.ClockView;
import io.isthmus.trust.federation.BundleEndpointServer;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Reads how far a peer's clock is from this gateway's: asks the peer's SPIFFE bundle endpoint for its bundle and
 * takes the time it states ({@value BundleEndpointServer#TIME_HEADER}, milliseconds, from the peer's own clock)
 * against the midpoint of the request here. The true offset lies within half the round trip of the reading.
 * The HTTP {@code Date} header would do for a minute of skew but not for seconds, and states the JVM's clock rather
 * than the one the gateway uses.
 */
final class ClockProbe {
    private static final int MAX_HEAD = 16 * 1024;

    private final PeerTls tls;
    private final Clock clock;

    ClockProbe(PeerTls tls, Clock clock) {
        this.tls = tls;
        this.clock = clock;
    }

    ClockView read(TrustDomain td, URI bundleEndpoint, Duration timeout) {
        String host = bundleEndpoint.getHost();
        int port = bundleEndpoint.getPort() < 0 ? 443 : bundleEndpoint.getPort();
        try (SSLSocket socket = tls.connect(td, host, port, timeout)) {
            String path = bundleEndpoint.getRawPath() == null || bundleEndpoint.getRawPath().isEmpty() ? "/"
                    : bundleEndpoint.getRawPath();
            byte[] request = ("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nAccept: application/json"
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            long sent = clock.millis();
            socket.getOutputStream().write(request);
            socket.getOutputStream().flush();
            String head = head(socket.getInputStream());
            long received = clock.millis();
            Optional<String> stated = header(head, BundleEndpointServer.TIME_HEADER);
            if (stated.isEmpty()) {
                return failed(bundleEndpoint + " states no time (" + BundleEndpointServer.TIME_HEADER
                        + "): the peer runs a gateway version that does not, or something else answers there");
            }
            long peer = Instant.parse(stated.get()).toEpochMilli();
            long midpoint = sent + (received - sent) / 2;
            return new ClockView(Optional.of(peer - midpoint), (received - sent + 1) / 2, Optional.empty(),
                    clock.instant());
        } catch (ProbeException e) {
            return failed(e.getMessage());
        } catch (DateTimeParseException e) {
            return failed(bundleEndpoint + " stated an unreadable time: " + e.getParsedString());
        } catch (IOException e) {
            return failed(bundleEndpoint + ": " + e);
        }
    }

    private ClockView failed(String why) {
        return new ClockView(Optional.empty(), 0, Optional.of(why), clock.instant());
    }

    /** The response's status line and headers (up to the blank line). */
    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int matched = 0;
        while (out.size() < MAX_HEAD) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            out.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
            if (matched == 4) {
                break;
            }
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    static Optional<String> header(String head, String name) {
        String prefix = name.toLowerCase(Locale.ROOT) + ":";
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith(prefix)) {
                return Optional.of(line.substring(prefix.length()).strip());
            }
        }
        return Optional.empty();
    }
}
