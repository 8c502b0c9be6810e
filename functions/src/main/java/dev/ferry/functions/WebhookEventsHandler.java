package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.DynamodbEvent;
import com.amazonaws.services.lambda.runtime.events.StreamsEventResponse;
import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.logging.LogContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The job table's change stream → the webhooks queue. Lambda's event source mapping hands it the
 * records, in order per job, that have a {@code webhookUrl} (its filter); each change that is an
 * event the job's webhook chose becomes one delivery message ({@link WebhookTransitions}).
 *
 * <p>It never calls a receiver, so nothing a receiver does can slow it. A message that cannot be
 * sent stops the batch there and reports that record as failed: the mapping retries from it, and
 * the records before it are not sent again. A record it cannot read (not a job) is logged and
 * skipped rather than blocking the stream.
 */
public final class WebhookEventsHandler implements RequestHandler<DynamodbEvent, StreamsEventResponse> {

    private static final Logger LOG = LoggerFactory.getLogger(WebhookEventsHandler.class);

    private final WebhookQueue queue;

    /** Lambda's constructor: configuration from the process environment. */
    public WebhookEventsHandler() {
        this(System.getenv());
    }

    /** The local stack's constructor: configuration from the given environment. */
    public WebhookEventsHandler(Map<String, String> environment) {
        this(create(FerryEnv.of(environment)));
    }

    WebhookEventsHandler(WebhookQueue queue) {
        this.queue = queue;
    }

    private static WebhookQueue create(FerryEnv env) {
        return WebhookQueue.fromEnvironment(AwsClients.sqs(env), env);
    }

    @Override
    public StreamsEventResponse handleRequest(DynamodbEvent event, Context context) {
        RequestLog.start(context);
        List<DynamodbEvent.DynamodbStreamRecord> records = event.getRecords() == null ? List.of() : event.getRecords();
        for (DynamodbEvent.DynamodbStreamRecord record : records) {
            if (record.getDynamodb() == null || "REMOVE".equals(record.getEventName())) {
                continue;
            }
            List<WebhookMessage> messages;
            try {
                messages = WebhookTransitions.of(StreamImages.of(record.getDynamodb().getOldImage()),
                        StreamImages.of(record.getDynamodb().getNewImage()));
            } catch (RuntimeException e) {
                LOG.error("skipping stream record {}: it is not a job record Ferry can read: {}",
                        record.getDynamodb().getSequenceNumber(), e.toString());
                continue;
            }
            for (WebhookMessage message : messages) {
                try {
                    queue.send(message, Duration.ZERO);
                    LogContext.aboutJob(message.jobId(), null, () -> LOG.info("webhook {} of job {} queued",
                            message.event(), message.jobId()));
                } catch (SdkException e) {
                    LogContext.aboutJob(message.jobId(), null, () -> LOG.warn(
                            "could not queue webhook {} of job {}; the stream retries from its record: {}",
                            message.event(), message.jobId(), AwsErrors.describe(e)));
                    return new StreamsEventResponse(List.of(new StreamsEventResponse.BatchItemFailure(
                            record.getDynamodb().getSequenceNumber())));
                }
            }
        }
        return new StreamsEventResponse(List.of());
    }
}
