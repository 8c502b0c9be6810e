package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The history charts' library, uPlot, as its WebJar ({@code org.webjars.npm:uplot}) puts it on
 * the classpath: nothing of it is in this repository. The admin function serves its script at
 * {@code /admin/assets/uplot-<version>.min.js} (a versioned name, so it may be cached for a year);
 * the page loads it with an {@code integrity} attribute whose SHA-384 the page's
 * Content-Security-Policy names, so that exactly this file runs. Its small stylesheet goes into the
 * page as an inline {@code <style>}, allowed by its hash like the page's own.
 */
final class ChartLibrary {

    private static final String WEBJAR = "/META-INF/resources/webjars/uplot/";
    private static final String POM_PROPERTIES = "/META-INF/maven/org.webjars.npm/uplot/pom.properties";
    static final String ASSETS = "assets/";
    static final String CACHE_FOREVER = "public, max-age=31536000, immutable";

    private final String version;
    private final String script;
    private final String stylesheet;
    private final String integrity;

    ChartLibrary(String version, String script, String stylesheet) {
        this.version = version;
        this.script = script;
        this.stylesheet = stylesheet;
        this.integrity = "sha384-" + Base64.getEncoder().encodeToString(sha384(script));
    }

    /** The library as the functions jar holds it; fails, naming what is missing, where it does not. */
    static ChartLibrary load() {
        Properties pom = new Properties();
        try (InputStream in = resource(POM_PROPERTIES)) {
            pom.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + POM_PROPERTIES, e);
        }
        String version = pom.getProperty("version");
        String dist = WEBJAR + version + "/dist/";
        return new ChartLibrary(version, text(dist + "uPlot.iife.min.js"), text(dist + "uPlot.min.css"));
    }

    private static InputStream resource(String name) {
        InputStream in = ChartLibrary.class.getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException(name + " is missing from the functions jar: the admin page's charts need "
                    + "the WebJar org.webjars.npm:uplot on the classpath (functions/pom.xml)");
        }
        return in;
    }

    private static String text(String name) {
        try (InputStream in = resource(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name, e);
        }
    }

    String version() {
        return version;
    }

    /** The script's route, relative to {@code /admin/}. */
    String scriptRoute() {
        return ASSETS + "uplot-" + version + ".min.js";
    }

    /** The script's Subresource Integrity value, {@code sha384-<base64>}. */
    String integrity() {
        return integrity;
    }

    /** The CSP source that allows the script loaded with {@link #integrity()}. */
    String scriptHashSource() {
        return "'" + integrity + "'";
    }

    String stylesheet() {
        return stylesheet;
    }

    /** {@code GET /admin/assets/...}: the script, long cached; empty for any other route. */
    Optional<APIGatewayProxyResponseEvent> response(String route) {
        if (!route.equals(scriptRoute())) {
            return Optional.empty();
        }
        return Optional.of(new APIGatewayProxyResponseEvent()
                .withStatusCode(200)
                .withHeaders(Map.of(
                        "Content-Type", "text/javascript; charset=utf-8",
                        "Cache-Control", CACHE_FOREVER,
                        "X-Content-Type-Options", "nosniff",
                        "Cross-Origin-Resource-Policy", "same-origin"))
                .withBody(script));
    }

    private static byte[] sha384(String text) {
        try {
            return MessageDigest.getInstance("SHA-384").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-384 is missing from this JVM", e);
        }
    }
}
