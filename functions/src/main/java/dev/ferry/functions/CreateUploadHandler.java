package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * {@code POST /uploads}: a place for a job's file (an image to edit) or its whole input when too
 * large for a message. Answers {@code 201} with an {@code uploadId} and a presigned {@code url}
 * to {@code PUT} the bytes to before {@code expiresAt}; a job then names the upload as
 * {@code {"$file": "<uploadId>"}} in its input, or sends {@code "inputUpload": "<uploadId>"}.
 * Signing is local: no call leaves the function.
 */
public final class CreateUploadHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private final Optional<JobFiles> files;

    public CreateUploadHandler() {
        this(System.getenv());
    }

    public CreateUploadHandler(Map<String, String> environment) {
        this(JobFiles.fromEnvironment(FerryEnv.of(environment)));
    }

    CreateUploadHandler(Optional<JobFiles> files) {
        this.files = files;
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        RequestLog.start(context);
        String body = Requests.body(event);
        if (body != null && !body.isBlank()) {
            return ApiResponses.error(400, "request body must be empty: POST /uploads takes no parameters");
        }
        if (files.isEmpty()) {
            return ApiResponses.error(501, "this deployment has no bucket for job files (FERRY_BUCKET), so it takes"
                    + " no uploads");
        }
        try {
            JobFiles.Upload upload = files.get().presignUpload();
            return ApiResponses.json(201, Json.MAPPER.createObjectNode()
                    .put("uploadId", upload.uploadId())
                    .put("method", "PUT")
                    .put("url", upload.url().toString())
                    .put("expiresAt", upload.expiresAt().toString()));
        } catch (SdkException e) {
            return ApiResponses.error(ApiException.fromAws("could not sign an upload URL", e));
        }
    }
}
