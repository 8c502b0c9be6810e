package dev.ferry.testkit;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP/1.1 proxy on loopback between AWS SDK clients and an emulator (ElasticMQ, DynamoDB
 * Local, S3Proxy) that injects the faults the real services produce and the emulators never do.
 * Point a client's endpoint ({@code AWS_ENDPOINT_URL_SQS}, {@code AWS_ENDPOINT_URL_DYNAMODB},
 * {@code AWS_ENDPOINT_URL_S3} with path-style addressing) at {@link #endpoint()}. Bytes pass
 * unchanged, the {@code Host} header included, so a SigV4 signature made for the proxy's address
 * still checks out at the emulator.
 *
 * <h2>What it understands</h2>
 *
 * Each client connection gets a thread and, on its first request, a connection of its own to the
 * emulator; both are kept alive for as long as the client keeps its side open. Requests are read
 * whole (bodies framed by {@code Content-Length} or {@code chunked}; an
 * {@code Expect: 100-continue} is answered by the proxy, which then forwards the request without
 * it), and so are responses (also interim {@code 1xx}, dropped, and bodies that run to the
 * connection's end). Each request's operation is read from {@code X-Amz-Target}
 * ({@code DynamoDB_20120810.PutItem}, {@code AmazonSQS.SendMessage}: SQS speaks AWS JSON in this
 * SDK), for S3 from the method and path-style path ({@code PUT /<bucket>/<key>}: {@code PutObject};
 * {@code GET}: {@code GetObject}; {@code HEAD}: {@code HeadObject}; see {@code AwsOperation}), or
 * the query protocol's {@code Action}. Without a fault, bytes pass unchanged. A kept-alive
 * emulator connection that turns out closed before a single byte of the answer (the emulator's
 * idle timeout) is replaced and the request sent once more, as every HTTP client does; an emulator
 * that ends a fresh connection without an answer ends the client's connection too.
 *
 * <h2>Faults</h2>
 *
 * {@link #add(FaultRule) Rules} pick requests by operation, probability (seeded) or count; the
 * first rule, in the order added, that fires for a request decides its {@link Fault}:
 *
 * <ul>
 *   <li>{@link FaultKind#LOSE_RESPONSE}: the request is forwarded and the emulator's whole answer
 *       read (the call took effect), then the client's connection is reset (TCP RST). The SDK
 *       sees an I/O error ("Connection reset") and retries on a new connection.
 *   <li>{@link FaultKind#SLOW}: forwarded at once, the answer held for {@link Fault#hold()}, then
 *       sent on the same connection. Past the SDK's per-attempt timeout the SDK has already
 *       abandoned the attempt (closed the connection) and retried: the first attempt took effect.
 *       (Core's S3 client has no attempt timeout, only a 30 s socket timeout: a shorter hold is
 *       just a late answer.)
 *   <li>{@link FaultKind#THROTTLE}: not forwarded; answered {@code 400} as the service throttles:
 *       DynamoDB {@code {"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
 *       "message":...}} with {@code x-amz-crc32}; SQS (AWS JSON, query-compatible)
 *       {@code {"__type":"com.amazonaws.sqs#RequestThrottled",...}} with
 *       {@code x-amzn-query-error: RequestThrottled;Sender}; query protocol an XML
 *       {@code ErrorResponse} with {@code <Code>RequestThrottled</Code>}. All three codes are in
 *       the SDK's throttling set, so {@code isThrottlingException()} is true and the SDK backs off
 *       (throttling back-off) and retries. S3 throttles with {@code 503 SlowDown} in its XML
 *       {@code <Error>} (also in the SDK's set). The connection stays open.
 *   <li>{@link FaultKind#SERVER_ERROR}: {@code 500} ({@code InternalServerError} for DynamoDB,
 *       {@code InternalFailure} for SQS, {@code InternalError} for S3) or {@code 503}
 *       ({@code ServiceUnavailable}), same forms,
 *       {@code ;Receiver} in SQS's query error: instead of forwarding (nothing applied) or after
 *       forwarding (applied, the emulator's answer dropped). The SDK retries both statuses.
 *   <li>{@link FaultKind#REFUSE}: not forwarded; answered with the given status, code and message
 *       in the same forms.
 * </ul>
 *
 * <p>Independent of the rules, {@link #cut()} cuts everything off, as the TCP proxy it replaces
 * did: every open connection is reset, both ways (requests in flight lose their answer, whether or
 * not the emulator acted on them), and new ones are reset as soon as they are accepted, until
 * {@link #restore()}.
 *
 * <p>It counts requests per operation and injected faults per kind and operation
 * ({@link #injected(FaultKind, String)}, {@link #summary()}).
 */
public final class HttpFaultProxy implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HttpFaultProxy.class);
    private static final int CONNECT_TIMEOUT_MILLIS = 2_000;

    private final String name;
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final ExecutorService threads;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final List<FaultRule> rules = new CopyOnWriteArrayList<>();
    private final ConcurrentMap<String, AtomicInteger> requests = new ConcurrentHashMap<>();
    private final Map<FaultKind, ConcurrentMap<String, AtomicInteger>> injected = new EnumMap<>(FaultKind.class);
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicLong cutMillis = new AtomicLong();
    private volatile boolean cut;
    private volatile long cutSince;
    private volatile boolean closed;

    private HttpFaultProxy(String name, InetSocketAddress target, ServerSocket server) {
        this.name = name;
        this.target = target;
        this.server = server;
        for (FaultKind kind : FaultKind.values()) {
            injected.put(kind, new ConcurrentHashMap<>());
        }
        this.threads = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "http-fault-proxy-" + name);
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Starts a proxy on a free loopback port to {@code target} (an {@code http://host:port} URL).
     *
     * @param name for logs, threads and {@link #summary()}, e.g. {@code sqs}
     */
    public static HttpFaultProxy start(String name, URI target) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(target, "target");
        if (!"http".equals(target.getScheme()) || target.getPort() < 0) {
            throw new IllegalArgumentException("the target must be http://host:port, not " + target);
        }
        try {
            ServerSocket server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
            HttpFaultProxy proxy = new HttpFaultProxy(name,
                    new InetSocketAddress(target.getHost(), target.getPort()), server);
            proxy.threads.execute(proxy::acceptLoop);
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the " + name + " proxy", e);
        }
    }

    /** {@code http://127.0.0.1:<port>}: what the clients' endpoint points at. */
    public URI endpoint() {
        return URI.create("http://" + server.getInetAddress().getHostAddress() + ":" + server.getLocalPort());
    }

    // Rules

    /** Adds a rule after the others; it applies from the next request read. */
    public FaultRule add(FaultRule rule) {
        rules.add(Objects.requireNonNull(rule, "rule"));
        LOG.info("{} proxy: rule {}", name, rule);
        return rule;
    }

    /** Removes a rule: requests read from now on no longer meet it. */
    public boolean remove(FaultRule rule) {
        return rules.remove(rule);
    }

    /** Removes every rule. */
    public void clearRules() {
        rules.clear();
    }

    public List<FaultRule> rules() {
        return List.copyOf(rules);
    }

    // Cut

    /** Cuts everything off: open connections are reset, new ones are reset on accept. */
    public void cut() {
        if (!cut) {
            cutSince = System.nanoTime();
        }
        cut = true;
        int reset = 0;
        for (Socket socket : open) {
            reset(socket);
            reset++;
        }
        LOG.info("{} proxy: cut ({} open connection(s) reset)", name, reset);
    }

    /** Lets connections through again. */
    public void restore() {
        if (cut) {
            cutMillis.addAndGet((System.nanoTime() - cutSince) / 1_000_000);
        }
        cut = false;
        LOG.info("{} proxy: restored", name);
    }

    public boolean isCut() {
        return cut;
    }

    /** How long it has been cut in all. */
    public long cutMillis() {
        return cutMillis.get() + (cut ? (System.nanoTime() - cutSince) / 1_000_000 : 0);
    }

    /** Client connections let through. */
    public int connections() {
        return connections.get();
    }

    /** Client connections reset on accept while cut. */
    public int refused() {
        return refused.get();
    }

    // Counters

    /** Requests read for {@code operation} ({@code PutItem}), with or without a fault. */
    public int requests(String operation) {
        AtomicInteger count = requests.get(operation);
        return count == null ? 0 : count.get();
    }

    /** Faults of {@code kind} injected, into any operation. */
    public int injected(FaultKind kind) {
        return injected.get(kind).values().stream().mapToInt(AtomicInteger::get).sum();
    }

    /** Faults of {@code kind} injected into {@code operation}. */
    public int injected(FaultKind kind, String operation) {
        AtomicInteger count = injected.get(kind).get(operation);
        return count == null ? 0 : count.get();
    }

    /** Every fault injected so far: per kind (all kinds), per operation (those with one), sorted. */
    public Map<FaultKind, Map<String, Integer>> injectedByOperation() {
        Map<FaultKind, Map<String, Integer>> all = new EnumMap<>(FaultKind.class);
        injected.forEach((kind, perOperation) -> all.put(kind, new TreeMap<>(perOperation.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get())))));
        return all;
    }

    /**
     * One line for a report: {@code <name>: requests=N lose_response=N(PutItem=N,...) slow=N
     * throttle=N server_error=N refuse=N}, operations listed for kinds injected at all.
     */
    public String summary() {
        StringBuilder line = new StringBuilder(name).append(": requests=")
                .append(requests.values().stream().mapToInt(AtomicInteger::get).sum());
        injectedByOperation().forEach((kind, perOperation) -> {
            int total = perOperation.values().stream().mapToInt(Integer::intValue).sum();
            line.append(' ').append(kind.name().toLowerCase(Locale.ROOT)).append('=').append(total);
            if (total > 0) {
                line.append(perOperation.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                        .collect(Collectors.joining(",", "(", ")")));
            }
        });
        return line.toString();
    }

    // Serving

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("{} proxy: accept failed: {}", name, e.toString());
                }
                return;
            }
            if (cut) {
                refused.incrementAndGet();
                reset(client);
                continue;
            }
            open.add(client);
            connections.incrementAndGet();
            try {
                threads.execute(() -> new Link(client).serve());
            } catch (RejectedExecutionException e) {
                close(client); // closing
                return;
            }
        }
    }

    private Fault decide(String operation, int attempt) {
        for (FaultRule rule : rules) {
            if (rule.fires(operation, attempt)) {
                return rule.fault();
            }
        }
        return null;
    }

    /** The SDK's attempt number, from {@code amz-sdk-request: attempt=2; max=3}; 1 without it. */
    static int attempt(HttpWire.Head head) {
        return head.header("amz-sdk-request").map(value -> {
            for (String part : value.split(";")) {
                String[] pair = part.trim().split("=", 2);
                if (pair.length == 2 && pair[0].equals("attempt")) {
                    try {
                        return Integer.parseInt(pair[1].trim());
                    } catch (NumberFormatException e) {
                        return 1;
                    }
                }
            }
            return 1;
        }).orElse(1);
    }

    private void counted(Fault fault, String operation) {
        injected.get(fault.kind()).computeIfAbsent(operation, k -> new AtomicInteger()).incrementAndGet();
        LOG.debug("{} proxy: {} on {}", name, fault, operation);
    }

    /** The emulator could not be reached: the client's connection is reset, as a dead server's would be. */
    private static final class UpstreamUnreachable extends IOException {
        private static final long serialVersionUID = 1L;

        UpstreamUnreachable(IOException cause) {
            super(cause);
        }
    }

    /** One client connection and the emulator connection that serves it. */
    private final class Link {
        private final Socket client;
        private Socket upstream;
        private InputStream upstreamIn;
        private OutputStream upstreamOut;

        Link(Socket client) {
            this.client = client;
        }

        void serve() {
            boolean reset = false;
            try {
                client.setTcpNoDelay(true);
                InputStream in = new BufferedInputStream(client.getInputStream());
                OutputStream out = new BufferedOutputStream(client.getOutputStream());
                while (!closed) {
                    HttpWire.Head head;
                    try {
                        head = HttpWire.readHead(in);
                    } catch (HttpWire.NothingReceived e) {
                        return; // the client closed its connection between requests
                    }
                    if (head.hasToken("Expect", "100-continue")) {
                        out.write(HttpWire.CONTINUE);
                        out.flush();
                        head = head.without("Expect");
                    }
                    HttpWire.Request request = HttpWire.readRequestBody(in, head);
                    if (cut) {
                        reset = true;
                        return;
                    }
                    AwsOperation operation = AwsOperation.of(request);
                    requests.computeIfAbsent(operation.name(), k -> new AtomicInteger()).incrementAndGet();
                    Fault fault = decide(operation.name(), attempt(request.head()));
                    boolean close = request.head().closes();
                    if (fault != null && !fault.forwards()) {
                        counted(fault, operation.name());
                        out.write(errorResponse(fault, operation, request, close));
                        out.flush();
                        if (close) {
                            return;
                        }
                        continue;
                    }
                    HttpWire.Response response = forward(request);
                    if (response == null) {
                        return; // the emulator ended the connection without an answer: so does the proxy
                    }
                    if (cut) {
                        reset = true;
                        return;
                    }
                    close = close || response.closes();
                    if (fault != null) {
                        counted(fault, operation.name());
                        switch (fault.kind()) {
                            case LOSE_RESPONSE -> {
                                reset = true;
                                return;
                            }
                            case SLOW -> {
                                Thread.sleep(fault.hold().toMillis());
                                if (cut) {
                                    reset = true;
                                    return;
                                }
                                out.write(response.bytes());
                            }
                            default -> out.write(errorResponse(fault, operation, request, close));
                        }
                    } else {
                        out.write(response.bytes());
                    }
                    out.flush();
                    if (close) {
                        return;
                    }
                }
            } catch (UpstreamUnreachable e) {
                LOG.debug("{} proxy: {} unreachable: {}", name, target, e.getCause().toString());
                reset = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // closing
            } catch (IOException e) {
                // the client or the emulator broke off mid-message (or the proxy was cut or closed)
                LOG.debug("{} proxy: connection ended: {}", name, e.toString());
            } finally {
                if (reset || cut) {
                    reset(client);
                    if (upstream != null) {
                        reset(upstream);
                    }
                } else {
                    close(client);
                    closeUpstream();
                }
            }
        }

        /**
         * Sends the request to the emulator and reads its final answer; null when the emulator ended
         * a fresh connection without one. A kept-alive connection found closed before any byte of
         * the answer is replaced once.
         */
        private HttpWire.Response forward(HttpWire.Request request) throws IOException {
            byte[] bytes = request.bytes();
            for (int attempt = 1; ; attempt++) {
                boolean fresh = upstream == null;
                if (fresh) {
                    openUpstream();
                }
                try {
                    try {
                        upstreamOut.write(bytes);
                        upstreamOut.flush();
                    } catch (IOException e) {
                        throw new HttpWire.NothingReceived("sending failed: " + e, e);
                    }
                    HttpWire.Response response = HttpWire.readResponse(upstreamIn, request.method());
                    if (response.closes()) {
                        closeUpstream();
                    }
                    return response;
                } catch (HttpWire.NothingReceived e) {
                    closeUpstream();
                    if (fresh || attempt > 1 || cut || closed) {
                        return null;
                    }
                }
            }
        }

        private void openUpstream() throws UpstreamUnreachable {
            Socket socket = new Socket();
            try {
                socket.connect(target, CONNECT_TIMEOUT_MILLIS);
                socket.setTcpNoDelay(true);
                upstreamIn = new BufferedInputStream(socket.getInputStream());
                upstreamOut = new BufferedOutputStream(socket.getOutputStream());
            } catch (IOException e) {
                HttpFaultProxy.this.close(socket);
                throw new UpstreamUnreachable(e);
            }
            upstream = socket;
            open.add(socket);
            if (cut) { // cut while connecting
                reset(socket);
            }
        }

        private void closeUpstream() {
            if (upstream != null) {
                HttpFaultProxy.this.close(upstream);
                upstream = null;
            }
        }
    }

    private static byte[] errorResponse(Fault fault, AwsOperation operation, HttpWire.Request request, boolean close) {
        String code = fault.errorCode().orElseGet(() -> fault.kind() == FaultKind.THROTTLE
                ? operation.throttleCode() : operation.serverErrorCode(fault.status()));
        String message = fault.message().orElseGet(() -> operation.defaultMessage(code));
        int status = fault.kind() == FaultKind.THROTTLE ? operation.throttleStatus(fault.status()) : fault.status();
        return operation.errorResponse(request, status, code, message, close);
    }

    /** Closes with a TCP reset, as a dropped connection looks to the other side. */
    private void reset(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
        } catch (SocketException e) {
            // already closed
        }
        close(socket);
    }

    private void close(Socket socket) {
        open.remove(socket);
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    /** Stops accepting, closes every connection, stops its threads (a held answer is dropped). */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // nothing to do
        }
        open.forEach(this::close);
        threads.shutdownNow();
    }
}
