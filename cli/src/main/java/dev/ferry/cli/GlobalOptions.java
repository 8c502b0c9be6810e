package dev.ferry.cli;

import picocli.CommandLine.Option;

/**
 * The options every command takes, before or after its name ({@code ferry --json status ID} and
 * {@code ferry status ID --json} alike); given after it, they win.
 */
final class GlobalOptions {

    @Option(names = "--url", paramLabel = "URL", description = "The API: the local stack (default, "
            + Target.DEFAULT_URL + ") or a deployed stack's ApiUrl output. Env: " + Target.URL_VARIABLE + ".")
    String url;

    @Option(names = "--api-key", paramLabel = "KEY", description = "A deployed stack's API key, sent as the"
            + " x-api-key header (its ReadApiKeyCommand output prints it). Env: " + Target.API_KEY_VARIABLE + ".")
    String apiKey;

    @Option(names = "--admin-token", paramLabel = "TOKEN", description = "The admin API's token, for dlq and"
            + " redrive (the local stack prints it when it starts). Env: " + Target.ADMIN_TOKEN_VARIABLE + ".")
    String adminToken;

    @Option(names = "--json", description = "Print the API's raw JSON answers, one per line, for scripts:"
            + " no bar, no colours.")
    boolean json;

    @Option(names = {"-v", "--verbose"}, description = "Print each HTTP request and its status on standard error"
            + " (never a key, a token or a URL's signature).")
    boolean verbose;

    /** These options over {@code outer} (the ones given before the command's name). */
    GlobalOptions over(GlobalOptions outer) {
        GlobalOptions merged = new GlobalOptions();
        merged.url = url != null ? url : outer.url;
        merged.apiKey = apiKey != null ? apiKey : outer.apiKey;
        merged.adminToken = adminToken != null ? adminToken : outer.adminToken;
        merged.json = json || outer.json;
        merged.verbose = verbose || outer.verbose;
        return merged;
    }
}
