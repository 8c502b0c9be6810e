package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * Ferry's HTTP API as the command line calls it, with the JDK's client: the job routes with the
 * API key ({@code x-api-key}), the admin routes with the bearer token, presigned S3 URLs with
 * neither. Every answer that is not a 2xx becomes a {@link CliException} whose message is the
 * API's {@code {"error"}} text as it is (or API Gateway's {@code {"message"}}): exit 3 for a 4xx,
 * 4 for a 5xx or a network failure. A request that may be repeated (every GET, a submit, which
 * always carries an {@code Idempotency-Key}) is sent again after a 429, 503 or 504 (after its
 * {@code Retry-After}, at most {@value #RETRIES} times) or a broken connection.
 */
final class FerryApi {

    static final String API_KEY_HEADER = "x-api-key";
    static final String PREFER = "Prefer";
    static final String PREFERENCE_APPLIED = "Preference-Applied";
    static final int RETRIES = 3;
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /** The longest {@code Retry-After} followed; a longer one is cut to it. */
    static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(10);

    /** Who a request goes to, which decides the credentials it carries. */
    enum Route {
        /** The job API: {@code x-api-key} when one is given. */
        JOBS,
        /** The admin API: {@code Authorization: Bearer}, and no API key (its routes take none). */
        ADMIN,
        /** A presigned URL (S3): nothing of Ferry's credentials. */
        PRESIGNED
    }

    /** An answer: its status, its text, the text as JSON (if it is), its headers. */
    record Answer(int status, String text, JsonNode body, HttpHeaders headers) {

        boolean ok() {
            return status >= 200 && status < 300;
        }

        /** The server held the request as {@code Prefer: wait} asked (RFC 7240). */
        boolean waitApplied() {
            return headers.allValues(PREFERENCE_APPLIED).stream()
                    .anyMatch(value -> value.toLowerCase(Locale.ROOT).contains("wait"));
        }
    }

    private final Target target;
    private final HttpClient http;
    private final PrintWriter log;
    private final CliContext.Sleeper sleeper;

    /**
     * @param log where {@code --verbose} writes each request and answer; null for none
     */
    FerryApi(Target target, HttpClient http, PrintWriter log, CliContext.Sleeper sleeper) {
        this.target = target;
        this.http = http;
        this.log = log;
        this.sleeper = sleeper;
    }

    static FerryApi create(Target target, CliContext context, boolean verbose) {
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        return new FerryApi(target, http, verbose ? context.err() : null, context.sleeper());
    }

    Target target() {
        return target;
    }

    // ---------------------------------------------------------------------------------------------
    // The routes

    /** {@code POST /jobs}: the answer whatever its status (the caller handles a 413), after retries. */
    Answer submit(String body, Map<String, String> headers) {
        Map<String, String> all = new LinkedHashMap<>(headers);
        all.put("Content-Type", "application/json");
        return exchange("POST", target.resolve("/jobs"), HttpRequest.BodyPublishers.ofString(body), all, Route.JOBS,
                true, REQUEST_TIMEOUT);
    }

    /**
     * {@code GET /jobs/{jobId}}; with {@code waitSeconds} over 0, {@code Prefer: wait=<waitSeconds>}:
     * a server that applies it holds the answer until the job changes or the time is up.
     */
    Answer job(String jobId, int waitSeconds) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (waitSeconds > 0) {
            headers.put(PREFER, "wait=" + waitSeconds);
        }
        return check(exchange("GET", target.resolve("/jobs/" + encodePath(jobId)), HttpRequest.BodyPublishers.noBody(),
                headers, Route.JOBS, true, REQUEST_TIMEOUT.plusSeconds(waitSeconds)));
    }

    Answer job(String jobId) {
        return job(jobId, 0);
    }

    /** {@code POST /jobs/{jobId}/cancel}. */
    Answer cancel(String jobId) {
        return check(exchange("POST", target.resolve("/jobs/" + encodePath(jobId) + "/cancel"),
                HttpRequest.BodyPublishers.noBody(), Map.of(), Route.JOBS, false, REQUEST_TIMEOUT));
    }

    /** {@code GET /jobs?status=&type=&limit=&cursor=}, the parameters that are given. */
    Answer list(Map<String, String> query) {
        StringJoiner parameters = new StringJoiner("&", "?", "").setEmptyValue("");
        query.forEach((name, value) -> parameters.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8)));
        return check(exchange("GET", target.resolve("/jobs" + parameters), HttpRequest.BodyPublishers.noBody(),
                Map.of(), Route.JOBS, true, REQUEST_TIMEOUT));
    }

    /** {@code POST /uploads}: {@code {"uploadId", "method", "url", "expiresAt"}}. */
    Answer createUpload() {
        return check(exchange("POST", target.resolve("/uploads"), HttpRequest.BodyPublishers.noBody(), Map.of(),
                Route.JOBS, true, REQUEST_TIMEOUT));
    }

    /** PUTs bytes to a presigned URL. */
    void put(URI url, HttpRequest.BodyPublisher bytes, String what) {
        Answer answer = exchange("PUT", url, bytes, Map.of(), Route.PRESIGNED, false, Duration.ofMinutes(30));
        if (!answer.ok()) {
            throw failure(answer, "PUT", url).withHint("the upload of " + what + " was refused; its URL may have"
                    + " expired: run the command again");
        }
    }

    /** An admin route ({@code /admin/api/...}), with the bearer token; {@code body} null for none. */
    Answer admin(String method, String path, String body) {
        String token = target.adminToken().orElseThrow(() -> CliException.usage("this command uses the admin API,"
                + " which needs the admin token: --admin-token or " + Target.ADMIN_TOKEN_VARIABLE
                + " (the local stack prints it when it starts; a deployed stack's ReadAdminTokenCommand output"
                + " reads it)"));
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Authorization", "Bearer " + token);
        if (body != null) {
            headers.put("Content-Type", "application/json");
        }
        return check(exchange(method, target.resolve("/admin/api/" + path), body == null
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body), headers,
                Route.ADMIN, method.equals("GET"), REQUEST_TIMEOUT));
    }

    /** A presigned URL's content as text (an attempt's log). */
    String text(URI url) {
        HttpResponse<String> response = send("GET", url, HttpRequest.newBuilder(url).GET().timeout(REQUEST_TIMEOUT)
                .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8), Route.PRESIGNED);
        if (response.statusCode() != 200) {
            throw failure(new Answer(response.statusCode(), response.body(), null, response.headers()), "GET", url)
                    .withHint("the URL may have expired (urlsExpireAt): run the command again for a fresh one");
        }
        return response.body();
    }

    /**
     * A presigned URL's content into {@code file}; the status code (the file is written only on 200).
     */
    int download(URI url, Path file) {
        HttpResponse<Path> response = send("GET", url, HttpRequest.newBuilder(url).GET().timeout(Duration.ofHours(1))
                        .build(),
                info -> info.statusCode() == 200 ? HttpResponse.BodySubscribers.ofFile(file)
                        : HttpResponse.BodySubscribers.replacing(null), Route.PRESIGNED);
        return response.statusCode();
    }

    // ---------------------------------------------------------------------------------------------
    // Sending

    /** Throws the answer's failure unless it is a 2xx. */
    Answer check(Answer answer) {
        if (answer.ok()) {
            return answer;
        }
        throw failure(answer, null, null);
    }

    /** Sends, repeating a repeatable request after a 429, 503, 504 or a broken connection; the last answer. */
    private Answer exchange(String method, URI url, HttpRequest.BodyPublisher body, Map<String, String> headers,
                            Route route, boolean repeatable, Duration timeout) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(url).method(method, body).timeout(timeout)
                .header("User-Agent", "ferry-cli/" + Version.get());
        if (route != Route.PRESIGNED) {
            builder.header("Accept", "application/json");
        }
        if (route == Route.JOBS) {
            target.apiKey().ifPresent(key -> builder.header(API_KEY_HEADER, key));
        }
        headers.forEach(builder::header);
        HttpRequest request = builder.build();
        for (int attempt = 1; ; attempt++) {
            HttpResponse<String> response;
            try {
                response = send(method, url, request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8), route);
            } catch (CliException e) {
                if (!repeatable || attempt > RETRIES || e.getCause() instanceof ConnectException
                        || e.getCause() instanceof HttpTimeoutException) {
                    throw e;
                }
                pause(Duration.ofSeconds(attempt));
                continue;
            }
            Answer answer = new Answer(response.statusCode(), response.body(),
                    CliJson.tryParse(response.body()).orElse(null), response.headers());
            int status = answer.status();
            if (repeatable && attempt <= RETRIES && (status == 429 || status == 503 || status == 504)) {
                pause(retryAfter(answer).orElse(Duration.ofSeconds(attempt)));
                continue;
            }
            return answer;
        }
    }

    private <T> HttpResponse<T> send(String method, URI url, HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                     Route route) {
        long started = System.nanoTime();
        if (log != null) {
            String prefer = request.headers().firstValue(PREFER).map(p -> "  " + PREFER + ": " + p).orElse("");
            log.println("> " + method + " " + shown(url, route) + prefer);
            log.flush();
        }
        try {
            HttpResponse<T> response = http.send(request, handler);
            if (log != null) {
                String applied = response.headers().firstValue(PREFERENCE_APPLIED)
                        .map(p -> "  " + PREFERENCE_APPLIED + ": " + p).orElse("");
                log.println("< " + response.statusCode() + applied + "  (" + (System.nanoTime() - started) / 1_000_000
                        + " ms)");
                log.flush();
            }
            return response;
        } catch (IOException e) {
            throw networkFailure(method, url, route, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CliException.unavailable("interrupted during " + method + " " + shown(url, route));
        }
    }

    private CliException networkFailure(String method, URI url, Route route, IOException e) {
        String where = route == Route.PRESIGNED ? url.getScheme() + "://" + url.getAuthority() : target.base().toString();
        CliException failure;
        if (e instanceof ConnectException) {
            failure = CliException.unavailable("cannot connect to " + where + ": connection refused").withHint(
                    route != Route.PRESIGNED && target.local() ? "is scripts/run-local.sh running? (it serves the API"
                            + " on " + Target.DEFAULT_URL + "; --url or " + Target.URL_VARIABLE + " for another one)"
                            : "check --url or " + Target.URL_VARIABLE);
        } else if (e instanceof HttpConnectTimeoutException) {
            failure = CliException.unavailable("cannot connect to " + where + " within "
                    + Durations.format(CONNECT_TIMEOUT));
        } else if (e instanceof HttpTimeoutException) {
            failure = CliException.unavailable("no answer to " + method + " " + shown(url, route) + " in time");
        } else {
            failure = CliException.unavailable(method + " " + shown(url, route) + " failed: "
                    + Optional.ofNullable(e.getMessage()).orElse(e.getClass().getSimpleName()));
        }
        failure.initCause(e);
        return failure;
    }

    /**
     * The answer as an error: its {@code {"error"}} text as it is (or API Gateway's {@code
     * {"message"}}), else the status and the start of its text, with a hint where one helps.
     */
    CliException failure(Answer answer, String method, URI url) {
        int status = answer.status();
        String message = message(answer).orElseGet(() -> {
            String text = answer.text() == null ? "" : answer.text().strip();
            String start = text.length() > 200 ? text.substring(0, 200) + "…" : text;
            return "HTTP " + status + (method == null ? "" : " from " + method + " " + shown(url, Route.PRESIGNED))
                    + (start.isEmpty() ? "" : ": " + start);
        });
        if (status >= 500) {
            CliException failure = CliException.unavailable(message);
            return status == 503 ? failure.withHint("the API is briefly unavailable (HTTP 503): retrying is safe,"
                    + " with the same --idempotency-key for a submit") : failure;
        }
        CliException refused = CliException.refused(message);
        if (status == 401 && answer.headers().firstValue("WWW-Authenticate").isPresent()) {
            return refused.withHint("give the admin token with --admin-token or " + Target.ADMIN_TOKEN_VARIABLE);
        }
        if (status == 403 && url == null && answer.body() != null && answer.body().has("message")) {
            // API Gateway's own refusal: no key, or a key it does not know.
            return refused.withHint(target.apiKey().isPresent()
                    ? "API Gateway refused the API key given (--api-key or " + Target.API_KEY_VARIABLE + ")"
                    : "a deployed API needs its key: --api-key or " + Target.API_KEY_VARIABLE
                    + " (the stack's ReadApiKeyCommand output prints it)");
        }
        if (status == 429) {
            return refused.withHint("throttled: the API key's usage plan allows fewer requests; try again later");
        }
        return refused;
    }

    private static Optional<String> message(Answer answer) {
        JsonNode body = answer.body();
        if (body == null || !body.isObject()) {
            return Optional.empty();
        }
        for (String field : new String[] {"error", "message", "Message"}) {
            if (body.path(field).isTextual()) {
                return Optional.of(body.get(field).asText());
            }
        }
        return Optional.empty();
    }

    private static Optional<Duration> retryAfter(Answer answer) {
        return answer.headers().firstValue("Retry-After").flatMap(value -> {
            try {
                long seconds = Long.parseLong(value.strip());
                return Optional.of(Duration.ofSeconds(Math.max(1, Math.min(seconds, MAX_RETRY_AFTER.toSeconds()))));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        });
    }

    private void pause(Duration duration) {
        try {
            sleeper.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CliException.unavailable("interrupted");
        }
    }

    /** A URL as a log may show it: a presigned one without its query (the signature). */
    private static String shown(URI url, Route route) {
        if (url == null) {
            return "";
        }
        if (route == Route.PRESIGNED || url.getRawQuery() != null && url.getRawQuery().contains("X-Amz-")) {
            return url.getScheme() + "://" + url.getRawAuthority() + url.getRawPath();
        }
        return url.toString();
    }

    static String encodePath(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
