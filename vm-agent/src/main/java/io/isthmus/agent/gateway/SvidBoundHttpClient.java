package io.isthmus.agent.gateway;

import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.SvidSource;

/**
 * An HTTPS client whose connections present the VM's <em>current</em> SVID. A JDK client keeps connections alive, and
 * the gateway knows a connection's client by the certificate of its handshake: after a renewal (early, when a rotation
 * retires the CA that signed the old SVID) a kept-alive connection would keep presenting the old SVID, which the
 * gateway refuses once it expires or its signer is retired (seen: a VM's service registrations refused as
 * {@code peer-svid-rejected (expired)}, and its services dropped from the registry, in the middle of a rotation). So
 * each new SVID gets a new client; the old one is shut down gracefully (requests in flight finish).
 */
final class SvidBoundHttpClient extends HttpClient {
    private final SvidSource svid;
    private final Supplier<HttpClient> factory;
    private HttpClient client;
    private X509Svid builtFor;

    SvidBoundHttpClient(SvidSource svid, Supplier<HttpClient> factory) {
        this.svid = svid;
        this.factory = factory;
    }

    /** The client for the SVID held now. */
    private synchronized HttpClient current() {
        X509Svid now = svid.current();
        if (client == null || now != builtFor) {
            if (client != null) {
                client.shutdown();
            }
            client = factory.get();
            builtFor = now;
        }
        return client;
    }

    @Override
    public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
            throws IOException, InterruptedException {
        return current().send(request, handler);
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        return current().sendAsync(request, handler);
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler,
            HttpResponse.PushPromiseHandler<T> push) {
        return current().sendAsync(request, handler, push);
    }

    @Override
    public Optional<CookieHandler> cookieHandler() {
        return current().cookieHandler();
    }

    @Override
    public Optional<Duration> connectTimeout() {
        return current().connectTimeout();
    }

    @Override
    public Redirect followRedirects() {
        return current().followRedirects();
    }

    @Override
    public Optional<ProxySelector> proxy() {
        return current().proxy();
    }

    @Override
    public SSLContext sslContext() {
        return current().sslContext();
    }

    @Override
    public SSLParameters sslParameters() {
        return current().sslParameters();
    }

    @Override
    public Optional<Authenticator> authenticator() {
        return current().authenticator();
    }

    @Override
    public Version version() {
        return current().version();
    }

    @Override
    public Optional<Executor> executor() {
        return current().executor();
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
        }
    }
}
