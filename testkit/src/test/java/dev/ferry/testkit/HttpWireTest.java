package dev.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HttpWireTest {

    private static InputStream wire(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static HttpWire.Request request(String text) throws IOException {
        InputStream in = wire(text);
        return HttpWire.readRequestBody(in, HttpWire.readHead(in));
    }

    @Test
    void chunkedBody_isDecoded_andKeptAsFramed() throws IOException {
        String framed = "4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n";
        HttpWire.Request request = request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + framed + "NEXT");

        assertEquals("Wikipedia", new String(request.body(), StandardCharsets.ISO_8859_1));
        assertEquals(framed, new String(request.rawBody(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void contentLengthBody_andTheNextRequestOnTheSameStream() throws IOException {
        InputStream in = wire("POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\r\nGET /b HTTP/1.1\r\n\r\n");
        HttpWire.Request first = HttpWire.readRequestBody(in, HttpWire.readHead(in));
        HttpWire.Request second = HttpWire.readRequestBody(in, HttpWire.readHead(in));

        assertArrayEquals("abc".getBytes(StandardCharsets.ISO_8859_1), first.body());
        assertEquals("/b", second.target(), "an empty line before a request line is skipped");
        assertEquals(0, second.body().length);
        assertThrows(HttpWire.NothingReceived.class, () -> HttpWire.readHead(in));
    }

    @Test
    void bareLineFeeds_areAccepted() throws IOException {
        HttpWire.Request request = request("POST / HTTP/1.1\nContent-Length: 2\nX-Amz-Target: AmazonSQS.SendMessage\n\nok");

        assertEquals("SendMessage", AwsOperation.of(request).name());
        assertEquals("ok", new String(request.body(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void malformedMessages_areRefused() {
        assertThrows(HttpWire.MalformedMessage.class,
                () -> request("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"));
        assertThrows(HttpWire.MalformedMessage.class,
                () -> request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
        assertThrows(HttpWire.MalformedMessage.class, () -> request("POST / HTTP/1.1\r\nno colon\r\n\r\n"));
        assertThrows(HttpWire.MalformedMessage.class,
                () -> request("GET / HTTP/1.1\r\nX: " + "a".repeat(HttpWire.MAX_HEAD_BYTES) + "\r\n\r\n"));
        assertThrows(IOException.class, () -> request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort"));
    }

    @Test
    void responses_interim1xxDropped_noBodyFor204_closeDelimitedBody() throws IOException {
        HttpWire.Response ok = HttpWire.readResponse(
                wire("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), "POST");
        HttpWire.Response empty = HttpWire.readResponse(wire("HTTP/1.1 204 No Content\r\n\r\n"), "POST");
        HttpWire.Response toTheEnd = HttpWire.readResponse(wire("HTTP/1.1 200 OK\r\n\r\nuntil the end"), "GET");

        assertEquals(200, ok.status());
        assertEquals("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", new String(ok.bytes(), StandardCharsets.ISO_8859_1));
        assertEquals(0, empty.body().length);
        assertTrue(toTheEnd.closes());
        assertEquals("until the end", new String(toTheEnd.body(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void connectionClose_andHttp10_endTheConnection() throws IOException {
        assertTrue(HttpWire.readHead(wire("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n")).closes());
        assertTrue(HttpWire.readHead(wire("GET / HTTP/1.0\r\n\r\n")).closes());
        assertTrue(!HttpWire.readHead(wire("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).closes());
        assertTrue(!HttpWire.readHead(wire("GET / HTTP/1.1\r\n\r\n")).closes());
    }
}
