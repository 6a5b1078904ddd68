package io.isthmus.bench.proxy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

/**
 * gRPC side of the proxy benchmark (benchmarks/proxy/run.sh), a separate process from the gateways so that their CPU
 * is measured alone. Raw-byte methods, so no generated stubs:
 * <ul>
 * <li>{@code server <port>}: a grpc-java server on 127.0.0.1 with {@code bench.Bench/Echo} (unary, answers what it
 * got) and {@code bench.Bench/Flood} (server streaming: 1 KiB messages as fast as flow control lets it, until the
 * caller cancels).</li>
 * <li>{@code unary <port> <authority> <concurrency> <warmup-s> <seconds>}: closed loop, {@code concurrency} calls
 * in flight on one channel (one HTTP/2 connection, h2c prior knowledge, as the gateways' plaintext side takes it);
 * prints calls/s, p50 and p99.</li>
 * <li>{@code stream <port> <authority> <streams> <warmup-s> <seconds>}: {@code streams} Flood calls; prints
 * messages/s and MiB/s received.</li>
 * </ul>
 * Each call carries {@code authorization: Bearer bench} (the egress's caller token; the direct path ignores it).
 * The last output word {@code total=N} counts every call or message including warm-up, for CPU per call.
 */
public final class GrpcLoad {
    private static final int MESSAGE = 1024;
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
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
    };
    static final MethodDescriptor<byte[], byte[]> ECHO = method("bench.Bench/Echo", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<byte[], byte[]> FLOOD = method("bench.Bench/Flood",
            MethodDescriptor.MethodType.SERVER_STREAMING);

    private GrpcLoad() {
    }

    private static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type).setFullMethodName(name)
                .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "server" -> serve(Integer.parseInt(args[1]));
            case "unary" -> unary(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]));
            case "stream" -> stream(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]));
            default -> throw new IllegalArgumentException("usage: server <port> | unary|stream <port> <authority> "
                    + "<concurrency> <warmup-s> <seconds>; got " + String.join(" ", args));
        }
    }

    private static void serve(int port) throws Exception {
        byte[] chunk = new byte[MESSAGE];
        ServerServiceDefinition service = ServerServiceDefinition.builder("bench.Bench")
                .addMethod(ECHO, ServerCalls.asyncUnaryCall((byte[] request, StreamObserver<byte[]> out) -> {
                    out.onNext(request);
                    out.onCompleted();
                }))
                .addMethod(FLOOD, ServerCalls.asyncServerStreamingCall((byte[] request, StreamObserver<byte[]> out) -> {
                    ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) out;
                    AtomicBoolean done = new AtomicBoolean();
                    call.setOnCancelHandler(() -> done.set(true));
                    call.setOnReadyHandler(() -> {
                        while (call.isReady() && !done.get()) {
                            call.onNext(chunk);
                        }
                    });
                }))
                .build();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).directExecutor()
                .addService(service).build().start();
        System.out.println("READY grpc " + port);
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        server.awaitTermination();
    }

    /** Calls go to {@code authority} (the mesh name the egress routes by), whatever address the channel dials. */
    private static ManagedChannel channel(String port, String authority) {
        return NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(port)).overrideAuthority(authority)
                .usePlaintext().directExecutor().flowControlWindow(1 << 20).build();
    }

    private static io.grpc.Channel withToken(ManagedChannel channel) {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer bench");
        return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    private static void unary(String port, String authority, int concurrency, int warmup, int seconds)
            throws InterruptedException {
        ManagedChannel channel = channel(port, authority);
        io.grpc.Channel ch = withToken(channel);
        byte[] payload = new byte[32];
        long[] latencies = new long[20_000_000];
        AtomicInteger recorded = new AtomicInteger();
        AtomicLong total = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long measureFrom = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmup);
        long end = measureFrom + TimeUnit.SECONDS.toNanos(seconds);
        CountDownLatch finished = new CountDownLatch(concurrency);
        for (int i = 0; i < concurrency; i++) {
            new Runnable() {
                @Override
                public void run() {
                    long start = System.nanoTime();
                    if (start >= end) {
                        finished.countDown();
                        return;
                    }
                    ClientCalls.asyncUnaryCall(ch.newCall(ECHO, io.grpc.CallOptions.DEFAULT), payload,
                            new StreamObserver<>() {
                                @Override
                                public void onNext(byte[] value) {
                                }

                                @Override
                                public void onError(Throwable t) {
                                    errors.incrementAndGet();
                                    done();
                                }

                                @Override
                                public void onCompleted() {
                                    done();
                                }

                                private void done() {
                                    total.incrementAndGet();
                                    if (start >= measureFrom) {
                                        int at = recorded.getAndIncrement();
                                        if (at < latencies.length) {
                                            latencies[at] = System.nanoTime() - start;
                                        }
                                    }
                                    run();
                                }
                            });
                }
            }.run();
        }
        finished.await();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        int n = Math.min(recorded.get(), latencies.length);
        long[] sorted = Arrays.copyOf(latencies, n);
        Arrays.sort(sorted);
        System.out.printf("%10.0f calls/s  p50 %-9s p99 %-9s errors %d  total=%d%n", n / (double) seconds,
                micros(sorted, 0.50), micros(sorted, 0.99), errors.get(), total.get());
    }

    private static String micros(long[] sorted, double q) {
        if (sorted.length == 0) {
            return "-";
        }
        long ns = sorted[Math.min(sorted.length - 1, (int) (sorted.length * q))];
        return ns >= 1_000_000 ? String.format("%.2fms", ns / 1e6) : String.format("%.0fus", ns / 1e3);
    }

    private static void stream(String port, String authority, int streams, int warmup, int seconds)
            throws InterruptedException {
        ManagedChannel channel = channel(port, authority);
        io.grpc.Channel ch = withToken(channel);
        AtomicLong messages = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        ClientCallStreamObserver<?>[] calls = new ClientCallStreamObserver<?>[streams];
        for (int i = 0; i < streams; i++) {
            int index = i;
            ClientCalls.asyncServerStreamingCall(ch.newCall(FLOOD, io.grpc.CallOptions.DEFAULT), new byte[1],
                    new ClientResponseObserver<byte[], byte[]>() {
                        @Override
                        public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
                            calls[index] = requestStream;
                        }

                        @Override
                        public void onNext(byte[] value) {
                            messages.incrementAndGet();
                        }

                        @Override
                        public void onError(Throwable t) {
                            if (!(t instanceof io.grpc.StatusRuntimeException s
                                    && s.getStatus().getCode() == io.grpc.Status.Code.CANCELLED)) {
                                errors.incrementAndGet();
                                System.err.println("stream failed: " + t);
                            }
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
        }
        Thread.sleep(TimeUnit.SECONDS.toMillis(warmup));
        long before = messages.get();
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
        long got = messages.get() - before;
        for (ClientCallStreamObserver<?> c : calls) {
            c.cancel("benchmark over", null);
        }
        long total = messages.get();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        System.out.printf("%10.0f msgs/s  %8.1f MiB/s  errors %d  total=%d%n", got / (double) seconds,
                got * (double) MESSAGE / seconds / (1 << 20), errors.get(), total);
    }
}
