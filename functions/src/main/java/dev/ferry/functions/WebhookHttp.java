package dev.ferry.functions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * One HTTP/1.1 POST to an address chosen beforehand: the connection goes to exactly that address
 * (the one checked), while the request names the URL's host in {@code Host}, and for
 * {@code https} in the TLS handshake's SNI and the certificate check. A client that resolved the
 * name again itself could be sent elsewhere by a second DNS answer. Redirects are answers like any
 * other: never followed.
 *
 * <p>Bounded in every way a receiver could stretch it: the connection, the whole exchange (one
 * deadline over every read), and what is read of the answer (its status line and headers, and a
 * short excerpt of its body).
 */
final class WebhookHttp {

    /** Most bytes read of the status line and headers. */
    static final int MAX_HEAD_BYTES = 16 * 1024;
    /** Most bytes of an answer's body kept (for the delivery's record). */
    static final int MAX_EXCERPT_BYTES = 200;

    /**
     * An answer.
     *
     * @param statusCode its status code
     * @param headers its headers, names lower-cased (the last of repeated ones)
     * @param excerpt the start of its body, as text
     */
    record Response(int statusCode, Map<String, String> headers, String excerpt) {
        Optional<String> header(String name) {
            return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
        }
    }

    private final SSLContext tls;
    private final Duration connectTimeout;

    /**
     * @param tls the TLS context for {@code https} (the JVM's default trusts the usual CAs)
     * @param connectTimeout how long one connection may take to open
     */
    WebhookHttp(SSLContext tls, Duration connectTimeout) {
        this.tls = Objects.requireNonNull(tls, "tls");
        this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
    }

    /**
     * POSTs {@code body} to {@code url}, connecting to {@code address}.
     *
     * @param timeout the whole exchange's limit, connection included
     * @throws IOException when no answer came: refused, reset, timed out, a TLS failure
     */
    Response post(URI url, InetAddress address, Map<String, String> headers, byte[] body, Duration timeout)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean https = "https".equalsIgnoreCase(url.getScheme());
        int port = url.getPort() >= 0 ? url.getPort() : https ? 443 : 80;
        String host = url.getHost();
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(address, port),
                    (int) Math.max(1, Math.min(connectTimeout.toMillis(), remainingMillis(deadline))));
            Socket channel = socket;
            if (https) {
                channel = handshake(socket, host, port, deadline);
            }
            OutputStream out = channel.getOutputStream();
            out.write(head(url, host, port, https, headers, body.length).getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            return read(channel, deadline);
        } finally {
            socket.close();
        }
    }

    private SSLSocket handshake(Socket socket, String host, int port, long deadline) throws IOException {
        String name = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(socket, name, port, true);
        SSLParameters parameters = ssl.getSSLParameters();
        // The certificate must be for the URL's host, whatever address was connected to.
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        if (!isLiteral(name)) {
            parameters.setServerNames(List.of(new SNIHostName(name)));
        }
        ssl.setSSLParameters(parameters);
        ssl.setSoTimeout(remainingMillis(deadline));
        ssl.startHandshake();
        return ssl;
    }

    private static boolean isLiteral(String host) {
        return host.contains(":") || host.matches("[0-9.]+");
    }

    private static String head(URI url, String host, int port, boolean https, Map<String, String> headers,
                               int length) {
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        if (url.getRawQuery() != null) {
            path += "?" + url.getRawQuery();
        }
        boolean defaultPort = port == (https ? 443 : 80);
        StringBuilder head = new StringBuilder("POST ").append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(host).append(defaultPort ? "" : ":" + port).append("\r\n");
        headers.forEach((name, value) -> {
            if (name.indexOf('\r') >= 0 || name.indexOf('\n') >= 0 || value.indexOf('\r') >= 0
                    || value.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("a header with a line break: " + name);
            }
            head.append(name).append(": ").append(value).append("\r\n");
        });
        return head.append("Content-Length: ").append(length).append("\r\n")
                .append("Connection: close\r\n\r\n").toString();
    }

    private static Response read(Socket channel, long deadline) throws IOException {
        InputStream in = channel.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            channel.setSoTimeout(remainingMillis(deadline));
            int b = in.read();
            if (b < 0) {
                throw new IOException("the receiver closed the connection before answering in full");
            }
            head.write(b);
            if (head.size() > MAX_HEAD_BYTES) {
                throw new IOException("the receiver's answer has more than " + MAX_HEAD_BYTES + " bytes of headers");
            }
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                    ? matched + 1 : b == '\r' ? 1 : 0;
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        String[] status = lines[0].split(" ", 3);
        if (status.length < 2 || !status[0].startsWith("HTTP/") || !status[1].matches("\\d{3}")) {
            throw new IOException("the receiver's answer is not HTTP: " + printable(lines[0]));
        }
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
                        lines[i].substring(colon + 1).strip());
            }
        }
        int statusCode = Integer.parseInt(status[1]);
        String excerpt = "";
        if (statusCode >= 300) {
            excerpt = excerpt(channel, in, deadline);
        }
        return new Response(statusCode, headers, excerpt);
    }

    /** The start of the body, best effort: whatever arrives before the deadline, up to the limit. */
    private static String excerpt(Socket channel, InputStream in, long deadline) {
        byte[] buffer = new byte[MAX_EXCERPT_BYTES];
        int read = 0;
        try {
            while (read < buffer.length) {
                channel.setSoTimeout(remainingMillis(deadline));
                int n = in.read(buffer, read, buffer.length - read);
                if (n < 0) {
                    break;
                }
                read += n;
            }
        } catch (IOException e) {
            // A body that does not come in time is no reason to lose the status code.
        }
        return printable(new String(buffer, 0, read, StandardCharsets.UTF_8));
    }

    private static String printable(String text) {
        return text.replaceAll("[\\p{Cntrl}&&[^\\n\\t]]", "?").strip();
    }

    private static int remainingMillis(long deadline) throws SocketTimeoutException {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
            throw new SocketTimeoutException("timed out");
        }
        return (int) Math.min(Integer.MAX_VALUE, left);
    }

    /** {@code address} as a URL host would write it, for messages. */
    static String literal(InetAddress address) {
        return address instanceof Inet6Address ? "[" + address.getHostAddress() + "]" : address.getHostAddress();
    }
}
