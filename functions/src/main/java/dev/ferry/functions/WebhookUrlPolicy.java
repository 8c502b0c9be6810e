package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;

/**
 * Which webhook URLs Ferry POSTs to. By default (in AWS) only {@code https://} URLs whose host is
 * a public address: a literal private, loopback or link-local address, or {@code localhost}, is
 * refused at submit, and every name is checked again against what it resolves to at delivery
 * ({@link WebhookSender}). The local stack, whose receivers run on this machine, allows
 * {@code http://} and private addresses; nothing else sets those two variables.
 *
 * @param allowHttp {@code http://} URLs too ({@value #ALLOW_HTTP}=true; the local stack only)
 * @param allowPrivate private, loopback and link-local addresses too ({@value #ALLOW_PRIVATE}=true;
 *     the local stack only)
 */
record WebhookUrlPolicy(boolean allowHttp, boolean allowPrivate) {

    /** {@code true}: {@code http://} webhook URLs are accepted (the local stack sets it). */
    static final String ALLOW_HTTP = WebhookSettings.ALLOW_HTTP;
    /** {@code true}: webhooks may reach private, loopback and link-local addresses (the local stack sets it). */
    static final String ALLOW_PRIVATE = WebhookSettings.ALLOW_PRIVATE;
    /** The longest URL accepted: 2 KiB. */
    static final int MAX_URL_LENGTH = 2048;

    /** AWS's: https only, public addresses only. */
    static final WebhookUrlPolicy STRICT = new WebhookUrlPolicy(false, false);

    static WebhookUrlPolicy fromEnvironment(FerryEnv env) {
        return new WebhookUrlPolicy(flag(env, ALLOW_HTTP), flag(env, ALLOW_PRIVATE));
    }

    private static boolean flag(FerryEnv env, String name) {
        String value = env.optional(name).orElse("false").toLowerCase(Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            throw new IllegalStateException("environment variable " + name + " must be true or false, but is '"
                    + value + "'");
        }
        return value.equals("true");
    }

    /**
     * The URL, checked: {@code http(s)}, a host, no credentials, no fragment, at most
     * {@value #MAX_URL_LENGTH} characters, and under this policy's rules on the scheme and on a
     * literal address.
     *
     * @throws ApiException 400 naming {@code field}
     */
    URI check(String url, String field) {
        if (url.length() > MAX_URL_LENGTH) {
            throw ApiException.badRequest("field \"" + field + "\" is " + url.length() + " characters long; at most "
                    + MAX_URL_LENGTH);
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw ApiException.badRequest("field \"" + field + "\" is not a URL: " + e.getMessage());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw ApiException.badRequest("field \"" + field + "\" must be an https:// URL");
        }
        if (scheme.equals("http") && !allowHttp) {
            throw ApiException.badRequest("field \"" + field + "\" must be an https:// URL: Ferry does not send signed"
                    + " jobs in the clear (http:// is for the local stack only)");
        }
        if (uri.getRawUserInfo() != null) {
            throw ApiException.badRequest("field \"" + field + "\" must not carry credentials (user:password@):"
                    + " every delivery is signed, verify the signature instead");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw ApiException.badRequest("field \"" + field + "\" has no host name (an international name must be"
                    + " written in its xn-- form)");
        }
        if (uri.getPort() != -1 && (uri.getPort() < 1 || uri.getPort() > 65535)) {
            throw ApiException.badRequest("field \"" + field + "\" names port " + uri.getPort()
                    + ", which no receiver can listen on (1 to 65535)");
        }
        if (uri.getRawFragment() != null) {
            throw ApiException.badRequest("field \"" + field + "\" must not have a #fragment, which is never sent");
        }
        if (!allowPrivate) {
            literalRefusal(uri.getHost()).ifPresent(why -> {
                throw ApiException.badRequest("field \"" + field + "\" names " + uri.getHost() + ", " + why
                        + ": Ferry delivers webhooks to public addresses only");
            });
        }
        return uri;
    }

    /** Why a host that is {@code localhost} or an address literal may not be reached; empty for a name. */
    static Optional<String> literalRefusal(String host) {
        String name = host.toLowerCase(Locale.ROOT);
        if (name.equals("localhost") || name.endsWith(".localhost")) {
            return Optional.of("a loopback name");
        }
        if (!isLiteral(name)) {
            return Optional.empty();
        }
        try {
            // A literal: no lookup happens.
            return PublicAddresses.refusal(InetAddress.getByName(name));
        } catch (UnknownHostException e) {
            return Optional.of("not an address");
        }
    }

    private static boolean isLiteral(String host) {
        return host.startsWith("[") || host.matches("[0-9.]+") || host.contains(":");
    }
}
