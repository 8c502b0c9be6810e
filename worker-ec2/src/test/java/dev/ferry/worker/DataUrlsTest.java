package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataUrlsTest {

    private static final String PNG = DataUrls.encode("image/png", new byte[] {(byte) 0x89, 'P', 'N', 'G'});
    private static final String TEXT = DataUrls.encode("text/plain", "hi".getBytes(StandardCharsets.UTF_8));
    @TempDir
    Path dir;

    @Test
    void decode_readsBase64AndPercentEncoding_andLeavesAnythingElseText() {
        assertEquals("image/png", DataUrls.decode(PNG).mediaType());
        assertArrayEquals("a b".getBytes(StandardCharsets.UTF_8), DataUrls.decode("data:,a%20b").bytes());
        assertEquals("text/plain", DataUrls.decode("data:,a%20b").mediaType());
        assertNull(DataUrls.decode("data: none"), "no comma: text");
        assertNull(DataUrls.decode("data:image/png;base64,@@@"), "not base64: text");
        assertNull(DataUrls.decode("https://example.com/a.png"));
    }

    @Test
    void writeFiles_namesEachFileAfterWhereItSits_andPutsTheNameInItsPlace() throws Exception {
        JsonNode result = DataUrls.writeFiles(Json.parse("{\"image\":\"" + PNG + "\",\"frames\":[\"" + TEXT + "\",\""
                + TEXT + "\"],\"meta\":{\"mask\":\"" + PNG + "\"},\"seed\":42,\"note\":\"data: none\"}"), dir);

        assertEquals("{\"image\":\"image.png\",\"frames\":[\"frames-0.txt\",\"frames-1.txt\"],"
                + "\"meta\":{\"mask\":\"meta-mask.png\"},\"seed\":42,\"note\":\"data: none\"}", result.toString());
        assertEquals("hi", Files.readString(dir.resolve("frames-1.txt")));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Files.readAllBytes(dir.resolve("meta-mask.png")));
    }

    @Test
    void writeFiles_aWholeResultIsOutput_aNameTakenGetsANumber_andNoDirectoryChangesNothing() throws Exception {
        Files.writeString(dir.resolve("output.png"), "a file the job wrote itself");

        assertEquals("\"output-2.png\"", DataUrls.writeFiles(Json.parse("\"" + PNG + "\""), dir).toString());
        assertEquals("[\"output-0.png\",\"output-1.png\"]",
                DataUrls.writeFiles(Json.parse("[\"" + PNG + "\",\"" + PNG + "\"]"), dir).toString());
        assertEquals("\"" + PNG + "\"", DataUrls.writeFiles(Json.parse("\"" + PNG + "\""), null).toString());
    }

    @Test
    void extension_fromTheMediaType() {
        assertEquals("jpg", DataUrls.extension("image/jpeg"));
        assertEquals("wav", DataUrls.extension("audio/x-wav"));
        assertEquals("txt", DataUrls.extension("text/plain; charset=utf-8"));
        assertEquals("heic", DataUrls.extension("image/heic"));
        assertEquals("bin", DataUrls.extension("application/vnd.something+weird"));
        assertEquals("image/png", DataUrls.mediaType(Path.of("/x/photo.png")));
        assertEquals("application/octet-stream", DataUrls.mediaType(Path.of("/x/weights")));
    }
}
