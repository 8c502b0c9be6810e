package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
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
        // The page's own script, and the charts' library: the one the admin function serves, by its SHA-384.
        APIGatewayProxyResponseEvent library = handler().handleRequest(new APIGatewayProxyRequestEvent()
                .withHttpMethod("GET").withPath("/admin/" + ChartLibrary.load().scriptRoute()), null);
        assertEquals(200, library.getStatusCode());
        assertEquals(List.of(sha256(only("script", page.getBody())), sha384(library.getBody())), policy.get("script-src"), csp);
        assertTrue(page.getBody().contains("integrity: \"" + sha384(library.getBody()).replace("'", "") + "\""),
                "the page loads the library with the integrity its CSP names");
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

    private static AdminHandler handler() {
        return new AdminHandler(AdminServices.of(new RecordingSqs(new java.util.ArrayList<>()), new InMemoryJobStore()), new AdminToken("t".repeat(40)));
    }

    @Test
    void chartLibrary_isServedWithoutAToken_cachedForAYear_andNothingElseUnderAssets() {
        String route = ChartLibrary.load().scriptRoute();
        assertTrue(route.matches("assets/uplot-\\d+\\.\\d+\\.\\d+\\.min\\.js"), route);
        APIGatewayProxyResponseEvent library = handler().handleRequest(new APIGatewayProxyRequestEvent()
                .withHttpMethod("GET").withPath("/v1/admin/" + route), null);
        assertEquals(200, library.getStatusCode());
        assertEquals("text/javascript; charset=utf-8", library.getHeaders().get("Content-Type"));
        assertEquals("public, max-age=31536000, immutable", library.getHeaders().get("Cache-Control"));
        assertEquals("nosniff", library.getHeaders().get("X-Content-Type-Options"));
        assertTrue(library.getBody().contains("uPlot"), "uPlot's script");

        assertEquals(404, handler().handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod("GET")
                .withPath("/admin/assets/uPlot.iife.js"), null).getStatusCode());
        assertEquals(404, handler().handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod("GET")
                .withPath("/admin/assets/../index.html"), null).getStatusCode());
        assertEquals(405, handler().handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod("POST")
                .withPath("/admin/" + route), null).getStatusCode());
    }

    @Test
    void pageWithoutTheChartsPlaceholders_isRefused_namingWhatIsMissing() {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> AdminPage.withCharts("<style></style><script>run();</script>", ChartLibrary.load()));
        assertTrue(error.getMessage().contains(AdminPage.CHARTS_CSS), error.getMessage());
    }

    private static String sha384(String text) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-384").digest(text.getBytes(StandardCharsets.UTF_8));
        return "'sha384-" + Base64.getEncoder().encodeToString(digest) + "'";
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
