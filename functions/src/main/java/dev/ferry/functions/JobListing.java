package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobQueries;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code GET /jobs?status=&type=&limit=&cursor=}: a page of jobs, newest first, as summaries,
 * and the cursor of the next page. The admin API lists the same way.
 *
 * <p>Every mistake in the query is a {@code 400} naming the parameter: an unknown parameter (a
 * misspelt filter would otherwise list everything), one given twice, an unknown status, a malformed
 * type, a limit outside 1-{@value JobQueries#MAX_PAGE}, a cursor that is not this listing's.
 */
final class JobListing {

    static final int DEFAULT_LIMIT = 20;
    static final Set<String> PARAMETERS = Set.of("status", "type", "limit", ListCursor.PARAMETER);

    private final JobQueries queries;
    private final ListCursor cursors;

    JobListing(JobQueries queries, ListCursor cursors) {
        this.queries = Objects.requireNonNull(queries, "queries");
        this.cursors = Objects.requireNonNull(cursors, "cursors");
    }

    /** What a request asks for. */
    record Request(JobQueries.Filter filter, int limit, String cursor) {

        /** The listing a cursor belongs to: its filters, not its page size. */
        String listing() {
            return "status=" + (filter.status() == null ? "" : filter.status().name())
                    + "&type=" + (filter.type() == null ? "" : filter.type());
        }
    }

    /** The request's query parameters, checked. */
    static Request parse(APIGatewayProxyRequestEvent event) {
        Map<String, List<String>> query = new LinkedHashMap<>();
        if (event.getMultiValueQueryStringParameters() != null) {
            query.putAll(event.getMultiValueQueryStringParameters());
        } else if (event.getQueryStringParameters() != null) {
            event.getQueryStringParameters().forEach((name, value) -> query.put(name, List.of(value)));
        }
        for (Map.Entry<String, List<String>> parameter : query.entrySet()) {
            if (!PARAMETERS.contains(parameter.getKey())) {
                throw ApiException.badRequest("unknown query parameter \"" + parameter.getKey() + "\"; a listing takes "
                        + "status, type, limit and cursor");
            }
            if (parameter.getValue() != null && parameter.getValue().size() > 1) {
                throw ApiException.badRequest("query parameter \"" + parameter.getKey() + "\" is given "
                        + parameter.getValue().size() + " times; give it once");
            }
        }
        Function<String, String> value = name -> {
            List<String> values = query.get(name);
            return values == null || values.isEmpty() || values.get(0) == null || values.get(0).isEmpty()
                    ? null : values.get(0);
        };
        JobStatus status = null;
        String statusText = value.apply("status");
        if (statusText != null) {
            try {
                status = JobStatus.valueOf(statusText.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("query parameter \"status\" is \"" + statusText + "\", which is no status;"
                        + " one of " + Arrays.toString(JobStatus.values()));
            }
        }
        String type = value.apply("type");
        if (type != null && !JobTypeNames.valid(type)) {
            throw ApiException.badRequest("query parameter \"type\" must be 1-64 characters of letters, digits, '.', '_'"
                    + " or '-', as a job's type is");
        }
        int limit = DEFAULT_LIMIT;
        String limitText = value.apply("limit");
        if (limitText != null) {
            try {
                limit = limitText.matches("\\d{1,4}") ? Integer.parseInt(limitText) : -1;
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > JobQueries.MAX_PAGE) {
                throw ApiException.badRequest("query parameter \"limit\" must be a whole number from 1 to "
                        + JobQueries.MAX_PAGE + ", but is \"" + limitText + "\"");
            }
        }
        return new Request(new JobQueries.Filter(status, type), limit, value.apply(ListCursor.PARAMETER));
    }

    /**
     * A page: {@code {"jobs": [<summary>...], "nextCursor": "..." | null}}.
     *
     * @param row how each job is shown
     * @throws ApiException 400 for a cursor that is not this listing's
     * @throws software.amazon.awssdk.core.exception.SdkException when the index cannot be read
     */
    ObjectNode page(Request request, Function<Job, ObjectNode> row) {
        Map<String, String> after = request.cursor() == null ? null
                : cursors.decode(request.cursor(), request.listing());
        JobQueries.Page page;
        try {
            page = queries.list(request.filter(), request.limit(), after);
        } catch (IllegalArgumentException e) {
            // Signed by this deployment, yet no position of this listing: made by an older Ferry, say.
            throw ListCursor.bad("does not hold a position in this listing: " + e.getMessage());
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode jobs = out.putArray("jobs");
        page.jobs().forEach(job -> jobs.add(row.apply(job)));
        String next = cursor(request, page.next());
        if (next == null) {
            out.putNull("nextCursor");
        } else {
            out.put("nextCursor", next);
        }
        return out;
    }

    /** The cursor of the page after one of {@code request}'s, whose {@code next} position is given; null for none. */
    String cursor(Request request, Map<String, String> next) {
        return next == null ? null : cursors.encode(request.listing(), next);
    }

    /** A page of the public listing: each job as {@link JobView#summary}. */
    ObjectNode page(Request request) {
        return page(request, JobView::summary);
    }
}
