package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The admin page's Content-Security-Policy: its own script and style by hash, nothing inline besides. */
class AdminPageTest {

    private static final Pattern ELEMENT = Pattern.compile("<(script|style)\\b[^>]*>(.*?)</\\1>", Pattern.DOTALL);

    @Test
    void servedPage_allowsExactlyItsOwnScriptAndStyle_byTheirSha256_andNothingUnsafe() throws Exception {
        APIGatewayProxyResponseEvent page = AdminHandler.page();
        String csp = page.getHeaders().get("Content-Security-Policy");
        Map<String, List<String>> policy = directives(csp);

        assertFalse(csp.contains("'unsafe-"), "no 'unsafe-inline', 'unsafe-hashes' or 'unsafe-eval': " + csp);
        assertEquals(List.of("'none'"), policy.get("default-src"), csp);
        assertEquals(List.of(sha256(only("script", page.getBody()))), policy.get("script-src"), csp);
        assertEquals(List.of(sha256(only("style", page.getBody()))), policy.get("style-src"), csp);
        assertEquals(List.of("'self'"), policy.get("connect-src"), csp);
        assertEquals(List.of("'none'"), policy.get("frame-ancestors"), csp);
    }

    @Test
    void page_hasNoEventHandlerOrStyleAttribute_andNoScriptFromElsewhere_whichItsCspWouldBlock() {
        String body = AdminHandler.page().getBody();
        String markup = ELEMENT.matcher(body).replaceAll("<$1></$1>");

        Matcher attribute = Pattern.compile("<[^>]*\\s(on[a-z]+|style)\\s*=[^>]*>", Pattern.CASE_INSENSITIVE)
                .matcher(markup);
        assertFalse(attribute.find(), () -> "the CSP blocks this attribute: " + attribute.group());
        assertFalse(Pattern.compile("<script\\b[^>]*\\ssrc\\s*=").matcher(body).find(),
                "the CSP allows no script from a URL");
    }

    @Test
    void crLineEndings_areServedAsLf_andHashedSo_asTheBrowserParsesThem() throws Exception {
        AdminPage page = new AdminPage("<!doctype html>\r\n<style>\r\np{}\r</style><script>\r\nrun();\r\n</script>");

        assertEquals("<!doctype html>\n<style>\np{}\n</style><script>\nrun();\n</script>", page.html());
        Map<String, List<String>> policy = directives(page.contentSecurityPolicy());
        assertEquals(List.of(sha256("\nrun();\n")), policy.get("script-src"));
        assertEquals(List.of(sha256("\np{}\n")), policy.get("style-src"));
    }

    @Test
    void pageWithoutAnInlineScript_isRefused_namingThePage() {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> new AdminPage("<!doctype html><script src=\"app.js\"></script>"));
        assertTrue(error.getMessage().startsWith("/admin/index.html has no inline <script>"), error.getMessage());
    }

    /** The text of the one element named {@code tag}. */
    private static String only(String tag, String html) {
        Matcher element = ELEMENT.matcher(html);
        String text = null;
        int count = 0;
        while (element.find()) {
            if (element.group(1).equals(tag)) {
                text = element.group(2);
                count++;
            }
        }
        assertEquals(1, count, "<" + tag + "> elements in the page");
        return text;
    }

    private static String sha256(String text) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        return "'sha256-" + Base64.getEncoder().encodeToString(digest) + "'";
    }

    private static Map<String, List<String>> directives(String csp) {
        Map<String, List<String>> directives = new LinkedHashMap<>();
        for (String directive : csp.split(";")) {
            List<String> words = Arrays.asList(directive.strip().split("\\s+"));
            directives.put(words.get(0), words.subList(1, words.size()));
        }
        return directives;
    }
}
