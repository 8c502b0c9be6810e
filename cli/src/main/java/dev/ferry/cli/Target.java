package dev.ferry.cli;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Which Ferry a command talks to, and with which credentials: {@code --url} or
 * {@value #URL_VARIABLE} (default the local stack), {@code --api-key} or {@value #API_KEY_VARIABLE}
 * (API Gateway's usage-plan key, header {@code x-api-key}: the deployed API requires one on every
 * job route), {@code --admin-token} or {@value #ADMIN_TOKEN_VARIABLE} (the admin API's bearer
 * token; its routes take no API key).
 *
 * @param base the API's base URL without a trailing slash; a deployed stack's includes its stage ({@code /v1})
 */
record Target(URI base, Optional<String> apiKey, Optional<String> adminToken) {

    static final String DEFAULT_URL = "http://localhost:3000";
    static final String URL_VARIABLE = "FERRY_URL";
    static final String API_KEY_VARIABLE = "FERRY_API_KEY";
    static final String ADMIN_TOKEN_VARIABLE = "FERRY_ADMIN_TOKEN";

    /**
     * The options over the environment over the defaults.
     *
     * @throws CliException (usage) the URL is not an absolute http(s) URL; the message says where it came from
     */
    static Target resolve(GlobalOptions options, Map<String, String> env) {
        String from = options.url != null ? "--url" : URL_VARIABLE;
        String url = options.url != null ? options.url : nonBlank(env.get(URL_VARIABLE)).orElse(DEFAULT_URL);
        return new Target(parseBase(url, from),
                Optional.ofNullable(options.apiKey).or(() -> nonBlank(env.get(API_KEY_VARIABLE))),
                Optional.ofNullable(options.adminToken).or(() -> nonBlank(env.get(ADMIN_TOKEN_VARIABLE))));
    }

    static URI parseBase(String url, String from) {
        URI uri;
        try {
            uri = new URI(url.strip());
        } catch (URISyntaxException e) {
            throw CliException.usage(from + " must be the API's URL, such as " + DEFAULT_URL + ", but is '" + url
                    + "': " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null || uri.getQuery() != null
                || uri.getFragment() != null) {
            throw CliException.usage(from + " must be the API's http or https URL without a query, such as "
                    + DEFAULT_URL + " or https://abc123.execute-api.eu-west-1.amazonaws.com/v1, but is '" + url + "'");
        }
        String text = uri.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return URI.create(text);
    }

    /** {@code path} (starting with '/') under the base: {@code https://.../v1} + {@code /jobs}. */
    URI resolve(String path) {
        return URI.create(base + path);
    }

    /** The local stack on this machine: a refused connection then means it is not running. */
    boolean local() {
        String host = base.getHost().toLowerCase(Locale.ROOT);
        return host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]") || host.equals("::1");
    }

    private static Optional<String> nonBlank(String value) {
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.strip());
    }

    @Override
    public String toString() {
        // Never the key or the token.
        return base.toString();
    }
}
