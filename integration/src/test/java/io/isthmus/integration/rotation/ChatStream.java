package io.isthmus.integration.rotation;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

/**
 * One long-lived gRPC bidi stream across clusters: a grpc-java echo server (h2c, the backend), and a client that
 * calls it by mesh name through its cluster's egress over TLS with a workload's current SVID, sending a message every
 * {@code interval} and counting the echoes. Any error on the stream (a reset anywhere on the path) is recorded.
 */
final class ChatStream implements AutoCloseable {
    static final MethodDescriptor<byte[], byte[]> CHAT = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING).setFullMethodName("isthmus.test.Chat/Chat")
            .setRequestMarshaller(Bytes.INSTANCE).setResponseMarshaller(Bytes.INSTANCE).build();

    private final Server server;
    private ManagedChannel channel;
    private StreamObserver<byte[]> requests;
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger echoed = new AtomicInteger();
    private final AtomicReference<Throwable> error = new AtomicReference<>();
    private final CountDownLatch completed = new CountDownLatch(1);
    private final List<String> lastEchoes = new CopyOnWriteArrayList<>();
    private Thread sender;
    private volatile boolean sending;

    private ChatStream(Server server) {
        this.server = server;
    }

    /** Starts the echo backend on loopback {@code port}. */
    static ChatStream backend(int port) throws IOException {
        ServerServiceDefinition service = ServerServiceDefinition.builder("isthmus.test.Chat")
                .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(out -> new StreamObserver<byte[]>() {
                    @Override
                    public void onNext(byte[] value) {
                        out.onNext(("echo " + new String(value, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        out.onCompleted();
                    }
                })).build();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(service)
                .build().start();
        return new ChatStream(server);
    }

    /** Opens the stream through {@code egress} as {@code caller} and starts sending every {@code intervalMillis}. */
    void open(TestWorkload caller, String egressHost, int egressPort, String meshName, long intervalMillis)
            throws IOException {
        channel = NettyChannelBuilder.forAddress(egressHost, egressPort).overrideAuthority(meshName)
                .sslContext(GrpcSslContexts.forClient().keyManager(caller.keyManager())
                        .trustManager(caller.trustManager()).build())
                .build();
        requests = ClientCalls.asyncBidiStreamingCall(channel.newCall(CHAT, CallOptions.DEFAULT), new StreamObserver<>() {
            @Override
            public void onNext(byte[] value) {
                echoed.incrementAndGet();
                lastEchoes.add(new String(value, StandardCharsets.UTF_8));
                if (lastEchoes.size() > 5) {
                    lastEchoes.remove(0);
                }
            }

            @Override
            public void onError(Throwable t) {
                error.compareAndSet(null, t);
                completed.countDown();
            }

            @Override
            public void onCompleted() {
                completed.countDown();
            }
        });
        sending = true;
        sender = Thread.ofVirtual().start(() -> {
            while (sending && error.get() == null) {
                synchronized (this) {
                    requests.onNext(("ping " + sent.incrementAndGet()).getBytes(StandardCharsets.UTF_8));
                }
                try {
                    Thread.sleep(intervalMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    int sent() {
        return sent.get();
    }

    int echoed() {
        return echoed.get();
    }

    Throwable error() {
        return error.get();
    }

    /** Stops sending, half-closes, and waits for the server to complete the stream; false if it did not in time. */
    boolean finish(long seconds) throws InterruptedException {
        sending = false;
        sender.join(5_000);
        synchronized (this) {
            requests.onCompleted();
        }
        return completed.await(seconds, TimeUnit.SECONDS);
    }

    List<String> lastEchoes() {
        return List.copyOf(lastEchoes);
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.shutdownNow();
        }
        server.shutdownNow();
    }

    private enum Bytes implements MethodDescriptor.Marshaller<byte[]> {
        INSTANCE;

        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
