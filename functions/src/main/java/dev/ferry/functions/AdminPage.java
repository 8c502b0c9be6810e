package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The admin page, {@code admin/index.html}, and the headers it is served with. Its
 * Content-Security-Policy lets run exactly the page's own inline {@code <script>} and
 * {@code <style>} elements, named by the SHA-256 of their text (computed when the page is loaded),
 * and nothing else: no {@code 'unsafe-inline'}, so no injected script, no {@code on...=}
 * attribute and no {@code style=} attribute takes effect.
 */
final class AdminPage {

    static final String RESOURCE = "/admin/index.html";

    /** An inline element and its text; the page's elements have no attributes. */
    private static final Pattern INLINE = Pattern.compile("<(script|style)>(.*?)</\\1>", Pattern.DOTALL);

    private final String html;
    private final String contentSecurityPolicy;

    /** Placeholders {@link #load} fills with the chart library's stylesheet, script route and integrity. */
    static final String CHARTS_CSS = "/* @CHARTS_CSS@ */";
    static final String CHARTS_SCRIPT = "@CHARTS_SCRIPT@";
    static final String CHARTS_INTEGRITY = "@CHARTS_INTEGRITY@";

    AdminPage(String html) {
        this(html, List.of());
    }

    /**
     * @param html the page
     * @param externalScripts CSP hash sources of the scripts the page loads by URL with a matching
     *     {@code integrity} attribute (CSP Level 3; Chromium and Firefox 116+ honour it)
     */
    AdminPage(String html, List<String> externalScripts) {
        // The HTML parser turns CR LF and CR into LF before the browser hashes an element's text:
        // serve and hash the page as the browser will see it, whatever the checkout's line endings.
        this.html = html.replace("\r\n", "\n").replace('\r', '\n');
        List<String> scripts = new ArrayList<>();
        List<String> styles = new ArrayList<>();
        Matcher inline = INLINE.matcher(this.html);
        while (inline.find()) {
            (inline.group(1).equals("script") ? scripts : styles).add(hashSource(inline.group(2)));
        }
        if (scripts.isEmpty()) {
            throw new IllegalStateException(RESOURCE + " has no inline <script>...</script> (without attributes) to "
                    + "allow in its Content-Security-Policy");
        }
        scripts.addAll(externalScripts);
        this.contentSecurityPolicy = "default-src 'none'; script-src " + String.join(" ", scripts)
                + "; style-src " + (styles.isEmpty() ? "'none'" : String.join(" ", styles))
                + "; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none';"
                + " frame-ancestors 'none'";
    }

    /** The page as the functions jar holds it, with {@code charts} put in ({@link #withCharts}). */
    static AdminPage load(ChartLibrary charts) {
        try (InputStream in = AdminPage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the functions jar");
            }
            return withCharts(new String(in.readAllBytes(), StandardCharsets.UTF_8), charts);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE + " from the functions jar", e);
        }
    }

    /**
     * {@code html} with the chart library put in: its stylesheet into the page's {@code <style>}
     * (hashed with it), its script's route and integrity into the page's script, which loads it; the
     * CSP then allows that script by its SHA-384, and no other.
     */
    static AdminPage withCharts(String html, ChartLibrary charts) {
        for (String placeholder : List.of(CHARTS_CSS, CHARTS_SCRIPT, CHARTS_INTEGRITY)) {
            if (!html.contains(placeholder)) {
                throw new IllegalStateException(RESOURCE + " lacks " + placeholder + ", where the charts' library goes");
            }
        }
        return new AdminPage(html.replace(CHARTS_CSS, charts.stylesheet())
                .replace(CHARTS_SCRIPT, charts.scriptRoute())
                .replace(CHARTS_INTEGRITY, charts.integrity()), List.of(charts.scriptHashSource()));
    }

    /** The page's HTML, as served. */
    String html() {
        return html;
    }

    /** The Content-Security-Policy header's value. */
    String contentSecurityPolicy() {
        return contentSecurityPolicy;
    }

    /** {@code GET /admin}: 200, the page, its CSP and the other headers that keep it to itself. */
    APIGatewayProxyResponseEvent response() {
        return new APIGatewayProxyResponseEvent()
                .withStatusCode(200)
                .withHeaders(Map.of(
                        "Content-Type", "text/html; charset=utf-8",
                        "Cache-Control", "no-store",
                        "Content-Security-Policy", contentSecurityPolicy,
                        "X-Content-Type-Options", "nosniff",
                        "Referrer-Policy", "no-referrer"))
                .withBody(html);
    }

    /** A CSP hash source: {@code 'sha256-<base64 of the SHA-256 of the UTF-8 text>'}. */
    static String hashSource(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return "'sha256-" + Base64.getEncoder().encodeToString(digest) + "'";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
