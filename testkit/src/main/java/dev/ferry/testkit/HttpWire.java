package dev.ferry.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Just enough HTTP/1.1 (RFC 9112) for a proxy that must see where each message ends: heads, and
 * bodies framed by {@code Content-Length}, by {@code chunked} transfer coding (extensions and
 * trailers kept), or, for a response, by the connection's end. Bodies are kept as they came (to
 * be forwarded byte for byte) and decoded (to be read). Heads are read and written in ISO-8859-1,
 * so that what is forwarded is what was received.
 */
final class HttpWire {

    /** A head longer than this is refused: the SDK's are a few hundred bytes. */
    static final int MAX_HEAD_BYTES = 64 * 1024;
    static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

    private HttpWire() {
    }

    /** The connection ended (or was reset) before the first byte of a message: no message, not a broken one. */
    static final class NothingReceived extends IOException {
        private static final long serialVersionUID = 1L;

        NothingReceived(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A message that does not parse. */
    static final class MalformedMessage extends IOException {
        private static final long serialVersionUID = 1L;

        MalformedMessage(String message) {
            super(message);
        }
    }

    record Header(String name, String value) {
    }

    /** A start line and its header fields, in order. */
    record Head(String startLine, List<Header> headers) {

        Optional<String> header(String name) {
            for (Header header : headers) {
                if (header.name().equalsIgnoreCase(name)) {
                    return Optional.of(header.value());
                }
            }
            return Optional.empty();
        }

        /** Whether a comma-separated field (Connection, Transfer-Encoding, Expect) lists {@code token}. */
        boolean hasToken(String name, String token) {
            for (Header header : headers) {
                if (header.name().equalsIgnoreCase(name)) {
                    for (String part : header.value().split(",")) {
                        if (part.trim().equalsIgnoreCase(token)) {
                            return true;
                        }
                    }
                }
            }
            return false;
        }

        Head without(String name) {
            return new Head(startLine, headers.stream().filter(h -> !h.name().equalsIgnoreCase(name)).toList());
        }

        String version() {
            String[] parts = startLine.split(" ", 3);
            return parts[0].startsWith("HTTP/") ? parts[0] : parts[parts.length - 1];
        }

        /** Whether the sender will close the connection after this message (HTTP/1.0 unless keep-alive, or close). */
        boolean closes() {
            if (hasToken("Connection", "close")) {
                return true;
            }
            return version().equals("HTTP/1.0") && !hasToken("Connection", "keep-alive");
        }

        byte[] bytes() {
            StringBuilder text = new StringBuilder(startLine).append("\r\n");
            for (Header header : headers) {
                text.append(header.name()).append(": ").append(header.value()).append("\r\n");
            }
            return text.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
        }
    }

    /** A request: its head, its body as framed on the wire, and the body decoded. */
    record Request(Head head, byte[] rawBody, byte[] body) {

        String method() {
            return head.startLine().split(" ", 2)[0];
        }

        /** The request target: path and query. */
        String target() {
            String[] parts = head.startLine().split(" ", 3);
            return parts.length > 1 ? parts[1] : "";
        }

        byte[] bytes() {
            return concat(head.bytes(), rawBody);
        }
    }

    /**
     * A final response: its head, status, body as framed and decoded; {@code closeDelimited} when
     * the body ran to the end of the connection (no length, not chunked).
     */
    record Response(Head head, int status, byte[] rawBody, byte[] body, boolean closeDelimited) {

        byte[] bytes() {
            return concat(head.bytes(), rawBody);
        }

        /** Whether the connection ends after it: the server said so, or its body ran to the connection's end. */
        boolean closes() {
            return closeDelimited || head.closes();
        }
    }

    /**
     * Reads a head. Empty lines before the start line are skipped (RFC 9112, 2.2).
     *
     * @throws NothingReceived when the stream ends or fails before the first byte
     */
    static Head readHead(InputStream in) throws IOException {
        int[] budget = {MAX_HEAD_BYTES};
        String start = readLine(in, budget, true);
        while (start.isEmpty()) {
            start = readLine(in, budget, false);
        }
        List<Header> headers = new ArrayList<>();
        for (String line = readLine(in, budget, false); !line.isEmpty(); line = readLine(in, budget, false)) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new MalformedMessage("not a header field: " + line);
            }
            headers.add(new Header(line.substring(0, colon).trim(), line.substring(colon + 1).trim()));
        }
        return new Head(start, List.copyOf(headers));
    }

    /** A request's body, per its head: chunked, Content-Length, or none. */
    static Request readRequestBody(InputStream in, Head head) throws IOException {
        if (isChunked(head)) {
            byte[][] chunked = readChunked(in);
            return new Request(head, chunked[0], chunked[1]);
        }
        long length = contentLength(head).orElse(0L);
        byte[] body = readExactly(in, length);
        return new Request(head, body, body);
    }

    /**
     * Reads the final response to a request with {@code method}; interim 1xx responses are read
     * and dropped (the proxy answers {@code Expect: 100-continue} itself).
     *
     * @throws NothingReceived when the connection ends or fails before the first byte of a response
     */
    static Response readResponse(InputStream in, String method) throws IOException {
        while (true) {
            Head head = readHead(in);
            int status = status(head);
            if (status >= 100 && status < 200 && status != 101) {
                continue;
            }
            if (method.equals("HEAD") || status < 200 || status == 204 || status == 304) {
                return new Response(head, status, new byte[0], new byte[0], status == 101);
            }
            if (isChunked(head)) {
                byte[][] chunked = readChunked(in);
                return new Response(head, status, chunked[0], chunked[1], false);
            }
            Optional<Long> length = contentLength(head);
            if (length.isPresent()) {
                byte[] body = readExactly(in, length.get());
                return new Response(head, status, body, body, false);
            }
            byte[] body = in.readAllBytes();
            return new Response(head, status, body, body, true);
        }
    }

    static int status(Head head) throws MalformedMessage {
        String[] parts = head.startLine().split(" ", 3);
        try {
            if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                throw new NumberFormatException();
            }
            return Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new MalformedMessage("not a status line: " + head.startLine());
        }
    }

    static boolean isChunked(Head head) {
        return head.header("Transfer-Encoding").map(v -> {
            String[] codings = v.split(",");
            return codings[codings.length - 1].trim().equalsIgnoreCase("chunked");
        }).orElse(false);
    }

    static Optional<Long> contentLength(Head head) throws MalformedMessage {
        Long length = null;
        for (Header header : head.headers()) {
            if (header.name().equalsIgnoreCase("Content-Length")) {
                for (String part : header.value().split(",")) {
                    long value;
                    try {
                        value = Long.parseLong(part.trim());
                    } catch (NumberFormatException e) {
                        throw new MalformedMessage("Content-Length: " + header.value());
                    }
                    if (value < 0 || (length != null && length != value)) {
                        throw new MalformedMessage("Content-Length: " + header.value());
                    }
                    length = value;
                }
            }
        }
        return Optional.ofNullable(length);
    }

    /** A chunked body: {raw as framed, decoded}. */
    private static byte[][] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        ByteArrayOutputStream decoded = new ByteArrayOutputStream();
        int[] budget = {Integer.MAX_VALUE};
        while (true) {
            String sizeLine = readLine(in, budget, false);
            raw.writeBytes((sizeLine + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            int semicolon = sizeLine.indexOf(';');
            String hex = (semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim();
            long size;
            try {
                size = Long.parseLong(hex, 16);
            } catch (NumberFormatException e) {
                throw new MalformedMessage("not a chunk size: " + sizeLine);
            }
            if (size < 0 || size > Integer.MAX_VALUE) {
                throw new MalformedMessage("chunk size out of range: " + sizeLine);
            }
            if (size == 0) {
                int[] trailerBudget = {MAX_HEAD_BYTES};
                for (String trailer = readLine(in, trailerBudget, false); !trailer.isEmpty();
                        trailer = readLine(in, trailerBudget, false)) {
                    raw.writeBytes((trailer + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                }
                raw.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                return new byte[][] {raw.toByteArray(), decoded.toByteArray()};
            }
            byte[] data = readExactly(in, size);
            raw.writeBytes(data);
            decoded.writeBytes(data);
            if (!readLine(in, budget, false).isEmpty()) {
                throw new MalformedMessage("chunk data not followed by CRLF");
            }
            raw.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    private static byte[] readExactly(InputStream in, long length) throws IOException {
        if (length > Integer.MAX_VALUE - 16) {
            throw new MalformedMessage("body too large: " + length);
        }
        byte[] bytes = in.readNBytes((int) length);
        if (bytes.length < length) {
            throw new IOException("the connection ended " + (length - bytes.length) + " bytes before the body's end");
        }
        return bytes;
    }

    /** A line up to LF (a CR before it dropped), in ISO-8859-1. */
    private static String readLine(InputStream in, int[] budget, boolean first) throws IOException {
        StringBuilder line = new StringBuilder();
        while (true) {
            int b;
            try {
                b = in.read();
            } catch (IOException e) {
                if (first && line.isEmpty()) {
                    throw new NothingReceived("the connection failed before a message: " + e, e);
                }
                throw e;
            }
            if (b == -1) {
                if (first && line.isEmpty()) {
                    throw new NothingReceived("the connection ended before a message", null);
                }
                throw new IOException("the connection ended within a message's head");
            }
            first = false;
            if (--budget[0] < 0) {
                throw new MalformedMessage("head over " + MAX_HEAD_BYTES + " bytes");
            }
            if (b == '\n') {
                int end = line.length();
                if (end > 0 && line.charAt(end - 1) == '\r') {
                    line.setLength(end - 1);
                }
                return line.toString();
            }
            line.append((char) b);
        }
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] all = new byte[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
