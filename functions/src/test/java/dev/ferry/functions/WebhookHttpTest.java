package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The POST over a chosen address: the connection goes to that address, the request and the TLS
 * handshake name the URL's host, the certificate must be the host's, and a receiver can stretch
 * nothing past the deadline.
 */
class WebhookHttpTest {

    private static final byte[] BODY = "{\"event\":\"completed\"}".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path temp;

    private static WebhookHttp http(SSLContext tls) {
        return new WebhookHttp(tls, Duration.ofSeconds(2));
    }

    @Test
    void https_toTheCheckedAddress_verifiesTheCertificateAgainstTheUrlsHost_andSendsItAsSni() throws Exception {
        KeyStore keys = keyStore("hooks.test");
        SSLContext server = SSLContext.getInstance("TLS");
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, "changeit".toCharArray());
        server.init(keyManagers.getKeyManagers(), null, null);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(keys);
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, trust.getTrustManagers(), null);

        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(server));
        AtomicReference<String> host = new AtomicReference<>();
        https.createContext("/", exchange -> {
            host.set(exchange.getRequestHeaders().getFirst("Host"));
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        https.start();
        try {
            int port = https.getAddress().getPort();
            WebhookHttp.Response response = http(client).post(URI.create("https://hooks.test:" + port + "/x"),
                    InetAddress.getLoopbackAddress(), Map.of("Content-Type", "application/json"), BODY,
                    Duration.ofSeconds(5));

            assertEquals(204, response.statusCode());
            assertEquals("hooks.test:" + port, host.get());
            SSLException wrongName = assertThrows(SSLException.class, () -> http(client).post(
                    URI.create("https://other.test:" + port + "/x"), InetAddress.getLoopbackAddress(), Map.of(), BODY,
                    Duration.ofSeconds(5)));
            assertTrue(String.valueOf(wrongName.getMessage()).contains("other.test"), wrongName.getMessage());
        } finally {
            https.stop(0);
        }
    }

    @Test
    void aReceiverThatNeverAnswers_timesOutAtTheDeadline() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            URI url = URI.create("http://hooks.test:" + silent.getLocalPort() + "/");

            assertThrows(SocketTimeoutException.class, () -> http(SSLContext.getDefault()).post(url,
                    InetAddress.getLoopbackAddress(), Map.of(), BODY, Duration.ofMillis(300)));
        }
    }

    @Test
    void anAnswerWithEndlessHeaders_isCutOff() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread talker = new Thread(() -> {
                try (Socket socket = server.accept(); OutputStream out = socket.getOutputStream()) {
                    out.write("HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    for (int i = 0; i < 10_000; i++) {
                        out.write(("X-Padding-" + i + ": yes\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    }
                } catch (IOException e) {
                    // the client hung up, as it should
                }
            });
            talker.start();
            URI url = URI.create("http://hooks.test:" + server.getLocalPort() + "/");

            IOException e = assertThrows(IOException.class, () -> http(SSLContext.getDefault()).post(url,
                    InetAddress.getLoopbackAddress(), Map.of(), BODY, Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("bytes of headers"), e.getMessage());
            talker.join(5_000);
        }
    }

    @Test
    void theRequest_isOneHttp11PostWithTheBody_andAnErrorsBodyIsExcerpted() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AtomicReference<String> received = new AtomicReference<>();
            Thread answer = new Thread(() -> {
                try (Socket socket = server.accept()) {
                    InputStream in = socket.getInputStream();
                    byte[] buffer = new byte[4096];
                    StringBuilder text = new StringBuilder();
                    while (!text.toString().endsWith(new String(BODY, StandardCharsets.UTF_8))) {
                        int n = in.read(buffer);
                        if (n < 0) {
                            break;
                        }
                        text.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                    }
                    received.set(text.toString());
                    socket.getOutputStream().write(("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\n"
                            + "Content-Length: 11\r\n\r\nmaintenance").getBytes(StandardCharsets.ISO_8859_1));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            answer.start();

            WebhookHttp.Response response = http(SSLContext.getDefault()).post(
                    URI.create("http://hooks.test:" + server.getLocalPort() + "/in?x=1"), InetAddress.getLoopbackAddress(),
                    Map.of("Ferry-Webhook-Id", "j-completed-2"), BODY, Duration.ofSeconds(5));
            answer.join(5_000);

            assertEquals(503, response.statusCode());
            assertEquals("30", response.header("Retry-After").orElseThrow());
            assertEquals("maintenance", response.excerpt());
            List<String> lines = List.of(received.get().split("\r\n"));
            assertEquals("POST /in?x=1 HTTP/1.1", lines.get(0));
            assertTrue(lines.contains("Host: hooks.test:" + server.getLocalPort()), lines.toString());
            assertTrue(lines.contains("Ferry-Webhook-Id: j-completed-2"), lines.toString());
            assertTrue(lines.contains("Content-Length: " + BODY.length), lines.toString());
            assertTrue(lines.contains("Connection: close"), lines.toString());
        }
    }

    /** A key pair and a self-signed certificate for {@code name}, made by the JDK's keytool. */
    private KeyStore keyStore(String name) throws Exception {
        Path file = temp.resolve("receiver.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process process = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "receiver", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=" + name, "-ext", "SAN=dns:" + name, "-validity", "2",
                "-keystore", file.toString(), "-storetype", "PKCS12", "-storepass", "changeit")
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), output);
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, "changeit".toCharArray());
        }
        return store;
    }
}
