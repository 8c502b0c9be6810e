package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import dev.ferry.core.logging.LogContext;

/** A function's log fields for one invocation: Lambda's request id, then the job once known. */
final class RequestLog {

    private RequestLog() {
    }

    /** At the start of an invocation: drops what the thread held, keeps the request id (none locally). */
    static void start(Context context) {
        LogContext.request(context == null ? null : context.getAwsRequestId());
    }
}
