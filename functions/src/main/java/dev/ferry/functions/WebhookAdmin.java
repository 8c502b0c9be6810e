package dev.ferry.functions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobStore;
import dev.ferry.core.Json;
import dev.ferry.core.logging.LogContext;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The admin page's view of one job's webhook: its URL, events and delivery attempts, and
 * "Resend": a new delivery (a new id, retried like any) of the job's latest event.
 */
final class WebhookAdmin {

    private static final Logger LOG = LoggerFactory.getLogger(WebhookAdmin.class);

    private final JobStore jobs;
    private final WebhookDeliveryStore deliveries;
    private final WebhookQueue queue;
    private final Clock clock;

    WebhookAdmin(JobStore jobs, WebhookDeliveryStore deliveries, WebhookQueue queue, Clock clock) {
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.deliveries = Objects.requireNonNull(deliveries, "deliveries");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    static WebhookAdmin fromEnvironment(FerryEnv env, SqsClient sqs, DynamoDbClient dynamoDb, JobStore jobs) {
        return new WebhookAdmin(jobs, WebhookDeliveryStore.fromEnvironment(dynamoDb, env),
                WebhookQueue.fromEnvironment(sqs, env), Clock.systemUTC());
    }

    /**
     * {@code {"jobId", "status", "webhook": {"url", "events", "deliveries", ...}, "latestEvent"}}.
     *
     * @throws ApiException 404 for an unknown job, 409 for a job without a webhook
     */
    ObjectNode show(String jobId) {
        Job job = withWebhook(jobId);
        WebhookDeliveries known = deliveries.get(jobId).orElseGet(() -> WebhookDeliveries.none(jobId));
        ObjectNode out = Json.MAPPER.createObjectNode().put("jobId", jobId).put("status", job.status().name());
        out.set("webhook", JobView.withDeliveries(JobView.of(job), known, null).get("webhook"));
        if (known.latest() != null) {
            out.putObject("latestEvent").put("event", known.latest().event())
                    .put("deliveryId", known.latest().deliveryId()).put("at", known.latest().at().toString());
        } else {
            out.putNull("latestEvent");
        }
        return out;
    }

    /**
     * Queues a new delivery of the job's latest event: a new id ({@code <event's id>-resend-<ms>}),
     * sent even to a receiver that answered {@code 410 Gone} (a success lifts that).
     *
     * @throws ApiException 404 for an unknown job, 409 for a job without a webhook or without an
     *     event delivered yet
     */
    ObjectNode resend(String jobId) {
        withWebhook(jobId);
        WebhookDeliveries.Event latest = deliveries.get(jobId).map(WebhookDeliveries::latest).orElseThrow(() ->
                new ApiException(409, "job " + jobId + " has no webhook event to send again yet: its events are"
                        + " delivered as they happen"));
        WebhookMessage message = WebhookMessage.resend(latest, jobId, clock.instant());
        queue.send(message, Duration.ZERO);
        LogContext.aboutJob(jobId, null, () -> LOG.info("webhook {} of job {} resent as {}", latest.deliveryId(),
                jobId, message.deliveryId()));
        return Json.MAPPER.createObjectNode().put("jobId", jobId).put("deliveryId", message.deliveryId())
                .put("event", message.event());
    }

    private Job withWebhook(String jobId) {
        Job job = jobs.get(jobId).orElseThrow(() -> new ApiException(404, "no job with id \"" + jobId + "\""));
        if (job.webhookUrl() == null) {
            throw new ApiException(409, "job " + jobId + " has no webhook");
        }
        return job;
    }
}
