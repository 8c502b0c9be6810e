package dev.ferry.functions;

/**
 * The names of the webhooks' environment variables, in one place (the classes that read them
 * refer to these). See README, Configuration.
 */
public final class WebhookSettings {

    /** The webhooks queue's URL (the stream function, the delivery function, the admin function). */
    public static final String QUEUE_URL = "FERRY_WEBHOOK_QUEUE_URL";
    /** The webhook deliveries table (the delivery, get-job and admin functions). */
    public static final String TABLE = "FERRY_WEBHOOK_TABLE";
    /** The signing key itself: the local stack's (a random one, or yours). Wins over the ARN. */
    public static final String SECRET = "FERRY_WEBHOOK_SECRET";
    /** The Secrets Manager secret that holds the signing key (AWS). */
    public static final String SECRET_ARN = "FERRY_WEBHOOK_SECRET_ARN";
    /** {@code true}: {@code http://} webhook URLs are accepted. The local stack only. */
    public static final String ALLOW_HTTP = "FERRY_WEBHOOK_ALLOW_HTTP";
    /** {@code true}: webhooks may reach private, loopback and link-local addresses. The local stack only. */
    public static final String ALLOW_PRIVATE = "FERRY_WEBHOOK_ALLOW_PRIVATE";
    /** How long one delivery's request may take (default 10 s, at most 30 s). */
    public static final String TIMEOUT = "FERRY_WEBHOOK_TIMEOUT";
    /** The first back-off after a failed delivery (default 10 s). */
    public static final String RETRY_BASE = "FERRY_WEBHOOK_RETRY_BASE";
    /** The longest back-off (default 1 h). */
    public static final String RETRY_MAX = "FERRY_WEBHOOK_RETRY_MAX";
    /** How long a delivery is retried before it is given up (default 24 h, at most 7 days). */
    public static final String RETRY_FOR = "FERRY_WEBHOOK_RETRY_FOR";

    private WebhookSettings() {
    }
}
