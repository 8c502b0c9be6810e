package dev.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy's HTTP handling against a plain HTTP server (the JDK's) that echoes what it gets:
 * framing, keep-alive, 100-continue, concurrency, operation names, rules, cut, close. The faults'
 * effect on real SDK clients and emulators is {@link HttpFaultProxyIT}'s.
 */
class HttpFaultProxyTest {

    private HttpServer upstream;
    private final AtomicInteger upstreamRequests = new AtomicInteger();
    private final List<String> upstreamExpectHeaders = new CopyOnWriteArrayList<>();
    private volatile long upstreamDelayMillis;
    private HttpFaultProxy proxy;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 100);
        upstream.createContext("/", this::echo);
        upstream.setExecutor(Executors.newCachedThreadPool());
        upstream.start();
        proxy = HttpFaultProxy.start("test", URI.create("http://127.0.0.1:" + upstream.getAddress().getPort()));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable closeable : toClose) {
            closeable.close();
        }
        proxy.close();
        upstream.stop(0);
        ((ExecutorService) upstream.getExecutor()).shutdownNow();
    }

    /** Echoes the body, chunked when the request asks for it with {@code ?chunked}. */
    private void echo(HttpExchange exchange) throws IOException {
        try (exchange) {
            upstreamRequests.incrementAndGet();
            String expect = exchange.getRequestHeaders().getFirst("Expect");
            if (expect != null) {
                upstreamExpectHeaders.add(expect);
            }
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (upstreamDelayMillis > 0) {
                try {
                    Thread.sleep(upstreamDelayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            boolean chunked = String.valueOf(exchange.getRequestURI().getQuery()).contains("chunked");
            exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
            exchange.sendResponseHeaders(200, chunked ? 0 : (body.length == 0 ? -1 : body.length));
            if (body.length > 0) {
                exchange.getResponseBody().write(body);
            }
        }
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket(proxy.endpoint().getHost(), proxy.endpoint().getPort());
        socket.setSoTimeout(10_000);
        toClose.add(socket);
        return socket;
    }

    private static void send(Socket socket, String text) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static String post(String path, String body, String... headers) {
        StringBuilder request = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: test\r\n");
        for (String header : headers) {
            request.append(header).append("\r\n");
        }
        return request.append("Content-Length: ").append(body.getBytes(StandardCharsets.ISO_8859_1).length)
                .append("\r\n\r\n").append(body).toString();
    }

    private static String body(HttpWire.Response response) {
        return new String(response.body(), StandardCharsets.UTF_8);
    }

    @Test
    void chunkedRequestWithExtensionsAndTrailers_andChunkedResponse_passThroughByteForByte() throws Exception {
        // The JDK's server drops trailers, so a raw one: it takes the request's exact bytes and
        // answers with a chunked body of its own, extensions and trailers included.
        String request = "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n";
        String response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nX-Checksum: 1\r\n\r\n";
        ExecutorService server = Executors.newSingleThreadExecutor();
        try (ServerSocket raw = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             HttpFaultProxy toRaw = HttpFaultProxy.start("raw", URI.create("http://127.0.0.1:" + raw.getLocalPort()))) {
            Future<String> received = server.submit(() -> {
                try (Socket s = raw.accept()) {
                    byte[] bytes = s.getInputStream().readNBytes(request.length());
                    s.getOutputStream().write(response.getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                    Thread.sleep(200);
                    return new String(bytes, StandardCharsets.ISO_8859_1);
                }
            });
            Socket socket = new Socket(toRaw.endpoint().getHost(), toRaw.endpoint().getPort());
            toClose.add(socket);
            socket.setSoTimeout(10_000);
            send(socket, request);
            HttpWire.Response answer = HttpWire.readResponse(new BufferedInputStream(socket.getInputStream()), "POST");

            assertEquals(request, received.get(10, TimeUnit.SECONDS));
            assertEquals(response, new String(answer.bytes(), StandardCharsets.ISO_8859_1));
            assertEquals("abcde", body(answer));
            assertEquals(1, toRaw.requests(AwsOperation.UNKNOWN));
        } finally {
            server.shutdownNow();
        }
    }

    @Test
    void chunkedRequest_reachesAnHttpServerDecoded_andItsChunkedAnswerComesBack() throws IOException {
        Socket socket = connect();
        send(socket, "POST /?chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
        HttpWire.Response response = HttpWire.readResponse(new BufferedInputStream(socket.getInputStream()), "POST");

        assertEquals(200, response.status());
        assertTrue(HttpWire.isChunked(response.head()), response.head().toString());
        assertEquals("hello, world", body(response));
    }

    @Test
    void expect100Continue_isAnsweredByTheProxy_thenTheBodyIsForwardedWithoutIt() throws IOException {
        Socket socket = connect();
        send(socket, "POST / HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
        InputStream in = new BufferedInputStream(socket.getInputStream());
        HttpWire.Head interim = HttpWire.readHead(in);
        assertEquals("HTTP/1.1 100 Continue", interim.startLine());

        send(socket, "body");
        HttpWire.Response response = HttpWire.readResponse(in, "POST");
        assertEquals(200, response.status());
        assertEquals("body", body(response));
        assertEquals(List.of(), upstreamExpectHeaders);
    }

    @Test
    void keepAlive_servesManyRequestsOnOneConnection() throws IOException {
        Socket socket = connect();
        InputStream in = new BufferedInputStream(socket.getInputStream());
        for (int i = 0; i < 5; i++) {
            send(socket, post("/", "request " + i));
            assertEquals("request " + i, body(HttpWire.readResponse(in, "POST")));
        }
        assertEquals(1, proxy.connections());
        assertEquals(5, upstreamRequests.get());
    }

    @Test
    void manyConcurrentConnections_throughHttpUrlConnection_allAnsweredRight() throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(16);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int thread = t;
                results.add(clients.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < 25; i++) {
                        String sent = "thread " + thread + " request " + i + " " + "x".repeat(i * 100);
                        if (sent.equals(urlConnectionPost(proxy.endpoint(), sent))) {
                            ok++;
                        }
                    }
                    return ok;
                }));
            }
            for (Future<Integer> result : results) {
                assertEquals(25, result.get(60, TimeUnit.SECONDS));
            }
        } finally {
            clients.shutdownNow();
        }
        assertEquals(400, upstreamRequests.get());
        assertTrue(proxy.connections() < 400, "HttpURLConnection kept connections alive: " + proxy.connections());
    }

    private static String urlConnectionPost(URI endpoint, String body) throws IOException {
        HttpURLConnection connection = (HttpURLConnection) endpoint.resolve("/").toURL().openConnection();
        connection.setRequestMethod("POST");
        connection.setDoOutput(true);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        connection.setFixedLengthStreamingMode(bytes.length);
        try (OutputStream out = connection.getOutputStream()) {
            out.write(bytes);
        }
        try (InputStream in = connection.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void awsJsonTarget_namesTheOperation_andThrottleAnswersInDynamoDbsForm() throws IOException {
        proxy.add(FaultRule.on("PutItem").next(1).then(Fault.throttle()));
        Socket socket = connect();
        InputStream in = new BufferedInputStream(socket.getInputStream());

        send(socket, post("/", "{}", "X-Amz-Target: DynamoDB_20120810.PutItem",
                "Content-Type: application/x-amz-json-1.0"));
        HttpWire.Response throttled = HttpWire.readResponse(in, "POST");
        send(socket, post("/", "{}", "X-Amz-Target: DynamoDB_20120810.PutItem"));
        HttpWire.Response passed = HttpWire.readResponse(in, "POST");

        assertEquals(400, throttled.status());
        assertEquals("application/x-amz-json-1.0", throttled.head().header("Content-Type").orElseThrow());
        assertTrue(body(throttled).startsWith("{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                + "ProvisionedThroughputExceededException\",\"message\":\""), body(throttled));
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(throttled.body());
        assertEquals(Long.toString(crc.getValue()), throttled.head().header("x-amz-crc32").orElseThrow());
        assertTrue(throttled.head().header("x-amzn-RequestId").isPresent());
        assertEquals(200, passed.status());
        assertEquals(1, upstreamRequests.get(), "the throttled request never reached the service");
        assertEquals(2, proxy.requests("PutItem"));
        assertEquals(1, proxy.injected(FaultKind.THROTTLE, "PutItem"));
    }

    @Test
    void sqsJsonTarget_throttlesWithTheQueryErrorHeader() throws IOException {
        proxy.add(FaultRule.on("SendMessage").then(Fault.throttle()));
        Socket socket = connect();
        send(socket, post("/", "{}", "X-Amz-Target: AmazonSQS.SendMessage"));
        HttpWire.Response response = HttpWire.readResponse(new BufferedInputStream(socket.getInputStream()), "POST");

        assertEquals(400, response.status());
        assertEquals("RequestThrottled;Sender", response.head().header("x-amzn-query-error").orElseThrow());
        assertTrue(body(response).startsWith("{\"__type\":\"com.amazonaws.sqs#RequestThrottled\""), body(response));
        assertTrue(response.head().header("x-amz-crc32").isEmpty());
    }

    @Test
    void queryProtocolAction_namesTheOperation_fromTheBodyOrTheUrl_andErrorsAreXml() throws IOException {
        proxy.add(FaultRule.on("SendMessage").then(Fault.serverErrorBefore(503)));
        Socket socket = connect();
        InputStream in = new BufferedInputStream(socket.getInputStream());

        send(socket, post("/000000000000/jobs", "Action=SendMessage&MessageBody=x%26y&Version=2012-11-05",
                "Content-Type: application/x-www-form-urlencoded; charset=utf-8"));
        HttpWire.Response refused = HttpWire.readResponse(in, "POST");
        send(socket, "GET /?Action=ListQueues&Version=2012-11-05 HTTP/1.1\r\nHost: test\r\n\r\n");
        HttpWire.Response listed = HttpWire.readResponse(in, "GET");

        assertEquals(503, refused.status());
        assertEquals("text/xml", refused.head().header("Content-Type").orElseThrow());
        assertTrue(body(refused).contains("<Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"), body(refused));
        assertEquals(200, listed.status());
        assertEquals(1, proxy.requests("SendMessage"));
        assertEquals(1, proxy.requests("ListQueues"));
        assertEquals(1, upstreamRequests.get());
    }

    private static final String S3_AUTHORIZATION = "Authorization: AWS4-HMAC-SHA256 Credential=local/20250101/"
            + "us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0123";

    @Test
    void s3PathStyle_namesTheOperation_andThrottlesWithA503SlowDown_aHeadWithoutABody() throws IOException {
        proxy.add(FaultRule.on("PutObject", "HeadObject").then(Fault.throttle()));
        Socket socket = connect();
        InputStream in = new BufferedInputStream(socket.getInputStream());

        send(socket, "PUT /ferry-files/jobs/01K/1/log.txt HTTP/1.1\r\nHost: test\r\n" + S3_AUTHORIZATION
                + "\r\nContent-Length: 2\r\n\r\nhi");
        HttpWire.Response put = HttpWire.readResponse(in, "PUT");
        send(socket, "HEAD /ferry-files/jobs/01K/1/log.txt HTTP/1.1\r\nHost: test\r\n" + S3_AUTHORIZATION + "\r\n\r\n");
        HttpWire.Response head = HttpWire.readResponse(in, "HEAD");
        send(socket, "GET /ferry-files/jobs/01K/1/log.txt HTTP/1.1\r\nHost: test\r\n" + S3_AUTHORIZATION + "\r\n\r\n");
        HttpWire.Response get = HttpWire.readResponse(in, "GET");

        assertEquals(503, put.status());
        assertEquals("application/xml", put.head().header("Content-Type").orElseThrow());
        assertTrue(body(put).contains("<Error><Code>SlowDown</Code>"), body(put));
        assertTrue(put.head().header("x-amz-request-id").isPresent());
        assertEquals(503, head.status());
        assertEquals("0", head.head().header("Content-Length").orElseThrow(), "no body after a HEAD");
        assertEquals(200, get.status(), "the next answer on the connection is the GET's own");
        assertEquals(1, upstreamRequests.get(), "only the GET was forwarded");
        assertEquals(1, proxy.requests("PutObject"));
        assertEquals(1, proxy.requests("HeadObject"));
        assertEquals(1, proxy.requests("GetObject"));
        assertEquals("test: requests=3 lose_response=0 slow=0 throttle=2(HeadObject=1,PutObject=1) server_error=0"
                + " refuse=0", proxy.summary());
    }

    @Test
    void serverErrorAfter_forwardsThenReplacesTheAnswer() throws IOException {
        proxy.add(FaultRule.on().next(1).then(Fault.serverErrorAfter(500)));
        Socket socket = connect();
        InputStream in = new BufferedInputStream(socket.getInputStream());
        send(socket, post("/", "{}", "X-Amz-Target: DynamoDB_20120810.UpdateItem"));
        HttpWire.Response response = HttpWire.readResponse(in, "POST");

        assertEquals(500, response.status());
        assertTrue(body(response).contains("#InternalServerError\""), body(response));
        assertEquals(1, upstreamRequests.get(), "forwarded");
        send(socket, post("/", "again"));
        assertEquals("again", body(HttpWire.readResponse(in, "POST")), "the connection is still good");
    }

    @Test
    void refuse_answersTheGivenStatusAndCode() throws IOException {
        proxy.add(FaultRule.on("StartMessageMoveTask").then(Fault.refuse(403, "AccessDenied", "not you")));
        Socket socket = connect();
        send(socket, post("/", "{}", "X-Amz-Target: AmazonSQS.StartMessageMoveTask"));
        HttpWire.Response response = HttpWire.readResponse(new BufferedInputStream(socket.getInputStream()), "POST");

        assertEquals(403, response.status());
        assertEquals("AccessDenied;Sender", response.head().header("x-amzn-query-error").orElseThrow());
        assertEquals("{\"__type\":\"com.amazonaws.sqs#AccessDenied\",\"message\":\"not you\"}", body(response));
        assertEquals(0, upstreamRequests.get());
        assertEquals(1, proxy.injected(FaultKind.REFUSE));
    }

    @Test
    void loseResponse_forwards_thenResetsTheClient() throws IOException {
        proxy.add(FaultRule.on().next(1).then(Fault.loseResponse()));
        Socket socket = connect();
        send(socket, post("/", "applied"));

        assertThrows(IOException.class, () -> HttpWire.readResponse(
                new BufferedInputStream(socket.getInputStream()), "POST"));
        assertEquals(1, upstreamRequests.get());
        assertEquals(1, proxy.injected(FaultKind.LOSE_RESPONSE));
    }

    @Test
    void slow_holdsTheAnswer() throws IOException {
        proxy.add(FaultRule.on().next(1).then(Fault.slow(Duration.ofMillis(600))));
        Socket socket = connect();
        long start = System.nanoTime();
        send(socket, post("/", "late"));
        HttpWire.Response response = HttpWire.readResponse(new BufferedInputStream(socket.getInputStream()), "POST");

        assertEquals("late", body(response));
        assertTrue(System.nanoTime() - start >= 600_000_000L);
        assertEquals(1, proxy.injected(FaultKind.SLOW));
    }

    @Test
    void nextN_injectsExactlyN_underConcurrentCalls() throws Exception {
        FaultRule rule = proxy.add(FaultRule.on().next(10).then(Fault.throttle()));
        ExecutorService clients = Executors.newFixedThreadPool(8);
        ConcurrentHashMap<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                done.add(clients.submit(() -> {
                    for (int i = 0; i < 12; i++) {
                        HttpURLConnection connection = (HttpURLConnection) proxy.endpoint().toURL().openConnection();
                        statuses.computeIfAbsent(connection.getResponseCode(), k -> new AtomicInteger()).incrementAndGet();
                        (connection.getErrorStream() != null ? connection.getErrorStream()
                                : connection.getInputStream()).readAllBytes();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            clients.shutdownNow();
        }
        assertEquals(10, statuses.get(400).get());
        assertEquals(86, statuses.get(200).get());
        assertTrue(rule.spent());
        assertEquals(10, proxy.injected(FaultKind.THROTTLE));
    }

    @Test
    void probability_isRepeatableBySeed() throws IOException {
        List<Integer> first = statusesUnder(FaultRule.on().probability(0.3, 42).then(Fault.throttle()));
        List<Integer> second = statusesUnder(FaultRule.on().probability(0.3, 42).then(Fault.throttle()));

        assertEquals(first, second);
        long throttled = first.stream().filter(s -> s == 400).count();
        assertTrue(throttled > 3 && throttled < 30, "about 30% of 50: " + throttled);
    }

    private List<Integer> statusesUnder(FaultRule rule) throws IOException {
        proxy.clearRules();
        proxy.add(rule);
        Socket socket = connect();
        InputStream in = new BufferedInputStream(socket.getInputStream());
        List<Integer> statuses = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            send(socket, post("/", "x"));
            statuses.add(HttpWire.readResponse(in, "POST").status());
        }
        return statuses;
    }

    @Test
    void rulesApplyInOrder_andToTheirOperationsOnly() throws IOException {
        proxy.add(FaultRule.on("GetItem").then(Fault.refuse(400, "First", "first")));
        proxy.add(FaultRule.on("GetItem", "Query").then(Fault.refuse(400, "Second", "second")));
        Socket socket = connect();
        InputStream in = new BufferedInputStream(socket.getInputStream());
        List<String> codes = new ArrayList<>();
        for (String operation : List.of("GetItem", "Query", "Scan")) {
            send(socket, post("/", "{}", "X-Amz-Target: DynamoDB_20120810." + operation));
            HttpWire.Response response = HttpWire.readResponse(in, "POST");
            codes.add(response.status() + " " + body(response).replaceAll(".*#(\\w+)\".*", "$1"));
        }
        assertEquals(List.of("400 First", "400 Second", "200 {}"), codes);
        assertEquals("test: requests=3 lose_response=0 slow=0 throttle=0 server_error=0 refuse=2(GetItem=1,Query=1)",
                proxy.summary());
    }

    @Test
    void cut_resetsOpenConnections_andNewOnes_untilRestored() throws Exception {
        upstreamDelayMillis = 2_000;
        Socket inFlight = connect();
        send(inFlight, post("/", "in flight"));
        Thread.sleep(300);
        proxy.cut();
        assertThrows(IOException.class, () -> HttpWire.readResponse(
                new BufferedInputStream(inFlight.getInputStream()), "POST"));

        Socket refused = connect();
        assertThrows(IOException.class, () -> {
            send(refused, post("/", "refused"));
            HttpWire.readResponse(new BufferedInputStream(refused.getInputStream()), "POST");
        });
        assertTrue(proxy.refused() >= 1);
        assertTrue(proxy.isCut());

        Thread.sleep(100);
        proxy.restore();
        upstreamDelayMillis = 0;
        Socket after = connect();
        send(after, post("/", "through"));
        assertEquals("through", body(HttpWire.readResponse(new BufferedInputStream(after.getInputStream()), "POST")));
        assertFalse(proxy.isCut());
        assertTrue(proxy.cutMillis() >= 100, "cut for " + proxy.cutMillis() + " ms");
    }

    @Test
    void aKeptAliveUpstreamConnectionClosedByTheServer_isReplaced_onceAndUnseen() throws Exception {
        // A server that answers one request per connection, keep-alive notwithstanding, then closes.
        try (ServerSocket oneShot = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             HttpFaultProxy toOneShot = HttpFaultProxy.start("one-shot",
                     URI.create("http://127.0.0.1:" + oneShot.getLocalPort()))) {
            AtomicInteger accepted = new AtomicInteger();
            Thread server = new Thread(() -> {
                while (!oneShot.isClosed()) {
                    try (Socket s = oneShot.accept()) {
                        accepted.incrementAndGet();
                        InputStream in = new BufferedInputStream(s.getInputStream());
                        HttpWire.readRequestBody(in, HttpWire.readHead(in));
                        s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                                .getBytes(StandardCharsets.ISO_8859_1));
                        s.getOutputStream().flush();
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
            server.setDaemon(true);
            server.start();
            Socket socket = new Socket(toOneShot.endpoint().getHost(), toOneShot.endpoint().getPort());
            toClose.add(socket);
            socket.setSoTimeout(10_000);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            for (int i = 0; i < 3; i++) {
                send(socket, post("/", "x"));
                assertEquals("ok", body(HttpWire.readResponse(in, "POST")));
                Thread.sleep(100); // the server has closed its side by now
            }
            assertEquals(3, accepted.get());
            assertEquals(1, toOneShot.connections());
        }
    }

    @Test
    void anUnreachableUpstream_resetsTheClient() throws IOException {
        int closedPort;
        try (ServerSocket nothing = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = nothing.getLocalPort();
        }
        try (HttpFaultProxy toNothing = HttpFaultProxy.start("nothing", URI.create("http://127.0.0.1:" + closedPort))) {
            Socket socket = new Socket(toNothing.endpoint().getHost(), toNothing.endpoint().getPort());
            toClose.add(socket);
            socket.setSoTimeout(10_000);
            send(socket, post("/", "x"));
            assertThrows(IOException.class, () -> HttpWire.readResponse(
                    new BufferedInputStream(socket.getInputStream()), "POST"));
        }
    }

    @Test
    void close_endsOpenConnections_andStopsListening() throws Exception {
        Socket socket = connect();
        send(socket, post("/", "x"));
        InputStream in = new BufferedInputStream(socket.getInputStream());
        HttpWire.readResponse(in, "POST");
        proxy.close();

        assertThrows(IOException.class, () -> {
            send(socket, post("/", "y"));
            HttpWire.readResponse(in, "POST");
        });
        // The listening socket goes as soon as the accepting thread has left accept(): within moments.
        long deadline = System.nanoTime() + 2_000_000_000L;
        boolean refused = false;
        while (!refused && System.nanoTime() < deadline) {
            try (Socket ignored = new Socket(proxy.endpoint().getHost(), proxy.endpoint().getPort())) {
                Thread.sleep(20);
            } catch (IOException e) {
                refused = true;
            }
        }
        assertTrue(refused, "still listening after close()");
    }
}
