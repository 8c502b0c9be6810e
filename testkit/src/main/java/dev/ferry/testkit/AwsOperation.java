package dev.ferry.testkit;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32;

/**
 * Which AWS operation an HTTP request calls, and how its service writes an error.
 *
 * <ul>
 *   <li>AWS JSON ({@code X-Amz-Target: <prefix>.<Operation>}): DynamoDB
 *       ({@code DynamoDB_20120810}), DynamoDB Streams, and SQS ({@code AmazonSQS}, AWS JSON 1.0
 *       since the SDK moved it off the query protocol; "query-compatible": its errors also carry
 *       the query protocol's code in {@code x-amzn-query-error}, which the SDK takes as the error
 *       code);
 *   <li>S3's REST protocol, path-style ({@code PUT /<bucket>/<key>}): a request signed for the
 *       service {@code s3} (the credential scope of its {@code Authorization} header or of a
 *       presigned URL's {@code X-Amz-Credential}), or one that carries S3's
 *       {@code x-amz-content-sha256}. The operation is read from the method, whether the path
 *       names a bucket or an object, the subresource in the query ({@code ?uploads},
 *       {@code ?list-type=2}, ...) and {@code x-amz-copy-source}: {@code PutObject},
 *       {@code GetObject}, {@code HeadObject}, {@code ListObjectsV2}, .... Errors in S3's XML
 *       ({@code <Error><Code>...}), none in the body of a {@code HEAD}'s answer; S3 throttles
 *       with {@code 503 SlowDown};
 *   <li>the query protocol ({@code Action=<Operation>} in a form body or the URL): errors in XML.
 * </ul>
 */
record AwsOperation(String name, Protocol protocol, String namespace) {

    /** The operation name of a request that names none. */
    static final String UNKNOWN = "(unknown)";

    enum Protocol { AWS_JSON, AWS_JSON_QUERY_COMPATIBLE, AWS_QUERY, REST_XML, UNKNOWN }

    /** The namespace of S3's REST requests. */
    static final String S3 = "s3";

    private static final Map<String, String> NAMESPACES = Map.of(
            "DynamoDB_20120810", "com.amazonaws.dynamodb.v20120810",
            "DynamoDBStreams_20120810", "com.amazonaws.dynamodb.v20120810",
            "AmazonSQS", "com.amazonaws.sqs");
    private static final String SQS_QUERY_XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/";

    static AwsOperation of(HttpWire.Request request) {
        String target = request.head().header("X-Amz-Target").orElse(null);
        if (target != null && target.indexOf('.') > 0) {
            int dot = target.lastIndexOf('.');
            String prefix = target.substring(0, dot);
            Protocol protocol = prefix.equals("AmazonSQS") ? Protocol.AWS_JSON_QUERY_COMPATIBLE : Protocol.AWS_JSON;
            return new AwsOperation(target.substring(dot + 1), protocol, NAMESPACES.get(prefix));
        }
        if (isS3(request)) {
            return new AwsOperation(s3Operation(request), Protocol.REST_XML, S3);
        }
        String action = queryParameter(request, "Action");
        if (action != null && !action.isBlank()) {
            return new AwsOperation(action, Protocol.AWS_QUERY, null);
        }
        return new AwsOperation(UNKNOWN, Protocol.UNKNOWN, null);
    }

    /**
     * Signed for S3 (SigV4's credential scope {@code <key>/<date>/<region>/s3/aws4_request}, in
     * the header or a presigned URL), or carrying the payload hash only S3's signing sends.
     */
    private static boolean isS3(HttpWire.Request request) {
        String authorization = request.head().header("Authorization").orElse("");
        if (authorization.contains("/s3/aws4_request")) {
            return true;
        }
        String credential = queryParameter(request, "X-Amz-Credential");
        if (credential != null && credential.endsWith("/s3/aws4_request")) {
            return true;
        }
        return request.head().header("x-amz-content-sha256").isPresent();
    }

    /**
     * S3's operation, path-style: {@code /} lists buckets, {@code /<bucket>} is the bucket,
     * {@code /<bucket>/<key>} an object; the query's subresource and {@code x-amz-copy-source}
     * tell the rest. {@value #UNKNOWN} for a method S3 does not serve there.
     */
    static String s3Operation(HttpWire.Request request) {
        String method = request.method();
        String target = request.target();
        int question = target.indexOf('?');
        String path = question < 0 ? target : target.substring(0, question);
        java.util.Set<String> query = new java.util.HashSet<>();
        if (question >= 0) {
            for (String pair : target.substring(question + 1).split("&")) {
                int equals = pair.indexOf('=');
                query.add(URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8));
            }
        }
        if (path.startsWith("http://") || path.startsWith("https://")) { // an absolute form: its path
            int slash = path.indexOf('/', path.indexOf("//") + 2);
            path = slash < 0 ? "/" : path.substring(slash);
        }
        String trimmed = path.startsWith("/") ? path.substring(1) : path;
        int slash = trimmed.indexOf('/');
        boolean service = trimmed.isEmpty();
        boolean bucket = !service && (slash < 0 || slash == trimmed.length() - 1);
        String operation;
        if (service) {
            operation = method.equals("GET") ? "ListBuckets" : null;
        } else if (bucket) {
            operation = switch (method) {
                case "GET" -> query.contains("list-type") ? "ListObjectsV2"
                        : query.contains("uploads") ? "ListMultipartUploads"
                        : query.contains("versions") ? "ListObjectVersions"
                        : query.contains("location") ? "GetBucketLocation"
                        : query.contains("lifecycle") ? "GetBucketLifecycleConfiguration"
                        : query.contains("versioning") ? "GetBucketVersioning"
                        : query.contains("cors") ? "GetBucketCors"
                        : query.contains("policy") ? "GetBucketPolicy"
                        : "ListObjects";
                case "PUT" -> query.contains("lifecycle") ? "PutBucketLifecycleConfiguration"
                        : query.contains("versioning") ? "PutBucketVersioning"
                        : query.contains("cors") ? "PutBucketCors"
                        : query.contains("policy") ? "PutBucketPolicy"
                        : "CreateBucket";
                case "HEAD" -> "HeadBucket";
                case "DELETE" -> query.contains("lifecycle") ? "DeleteBucketLifecycle"
                        : query.contains("cors") ? "DeleteBucketCors"
                        : query.contains("policy") ? "DeleteBucketPolicy"
                        : "DeleteBucket";
                case "POST" -> query.contains("delete") ? "DeleteObjects" : null;
                default -> null;
            };
        } else {
            boolean copy = request.head().header("x-amz-copy-source").isPresent();
            operation = switch (method) {
                case "PUT" -> query.contains("partNumber") && query.contains("uploadId")
                        ? (copy ? "UploadPartCopy" : "UploadPart")
                        : query.contains("tagging") ? "PutObjectTagging"
                        : query.contains("acl") ? "PutObjectAcl"
                        : copy ? "CopyObject" : "PutObject";
                case "GET" -> query.contains("uploadId") ? "ListParts"
                        : query.contains("tagging") ? "GetObjectTagging"
                        : query.contains("acl") ? "GetObjectAcl"
                        : "GetObject";
                case "HEAD" -> "HeadObject";
                case "DELETE" -> query.contains("uploadId") ? "AbortMultipartUpload"
                        : query.contains("tagging") ? "DeleteObjectTagging"
                        : "DeleteObject";
                case "POST" -> query.contains("uploads") ? "CreateMultipartUpload"
                        : query.contains("uploadId") ? "CompleteMultipartUpload"
                        : query.contains("restore") ? "RestoreObject"
                        : query.contains("select") ? "SelectObjectContent"
                        : null;
                default -> null;
            };
        }
        return operation == null ? UNKNOWN : operation;
    }

    boolean isS3() {
        return S3.equals(namespace);
    }

    boolean isDynamoDb() {
        return "com.amazonaws.dynamodb.v20120810".equals(namespace);
    }

    boolean isSqs() {
        return "com.amazonaws.sqs".equals(namespace) || protocol == Protocol.AWS_QUERY;
    }

    /** The code this service throttles with. */
    String throttleCode() {
        return isDynamoDb() ? "ProvisionedThroughputExceededException" : isSqs() ? "RequestThrottled"
                : isS3() ? "SlowDown" : "ThrottlingException";
    }

    /** The status this service throttles with: S3's {@code SlowDown} is a 503, the others' a 400. */
    int throttleStatus(int status) {
        return isS3() ? 503 : status;
    }

    String defaultMessage(String code) {
        return switch (code) {
            case "ProvisionedThroughputExceededException" -> "The level of configured provisioned throughput for the"
                    + " table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";
            case "ThrottlingException" -> "Rate of requests exceeds the allowed throughput.";
            case "RequestThrottled" -> "Request is throttled.";
            case "InternalServerError" -> "Internal server error";
            case "InternalFailure" -> "The request processing has failed because of an unknown error, exception or"
                    + " failure.";
            case "ServiceUnavailable" -> "The service is currently unavailable or busy.";
            case "SlowDown" -> "Please reduce your request rate.";
            case "InternalError" -> "We encountered an internal error. Please try again.";
            default -> code;
        };
    }

    /** The code of a 500 or 503 from this service. */
    String serverErrorCode(int status) {
        if (status == 503) {
            return "ServiceUnavailable";
        }
        return isDynamoDb() ? "InternalServerError" : isS3() ? "InternalError" : "InternalFailure";
    }

    /**
     * A whole error response, head and body, in this service's protocol.
     *
     * <p>AWS JSON: {@code Content-Type: application/x-amz-json-1.0} (or the request's 1.1), an
     * {@code x-amzn-RequestId}, the body {@code {"__type":"<namespace>#<code>","message":"..."}};
     * for SQS also {@code x-amzn-query-error: <code>;Sender} ({@code ;Receiver} for 5xx); for
     * DynamoDB also {@code x-amz-crc32} of the body, which the SDK checks. Query protocol:
     * {@code text/xml}, {@code <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>}.
     * S3: {@code application/xml}, {@code <Error><Code/><Message/><RequestId/><HostId/></Error>}
     * with {@code x-amz-request-id} and {@code x-amz-id-2}, and no body at all in the answer to a
     * {@code HEAD} (the client reads none: a body would be taken for the next answer on the
     * connection). No name: JSON with the code in {@code __type} and in {@code x-amzn-ErrorType}.
     */
    byte[] errorResponse(HttpWire.Request request, int status, String code, String message, boolean close) {
        String requestId = UUID.randomUUID().toString();
        String fault = status >= 500 ? "Receiver" : "Sender";
        List<String> headers = new ArrayList<>();
        String body;
        boolean noBody = request.method().equals("HEAD");
        if (protocol == Protocol.REST_XML) {
            headers.add("Content-Type: application/xml");
            body = noBody ? "" : "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + xml(code) + "</Code><Message>"
                    + xml(message) + "</Message><RequestId>" + requestId + "</RequestId><HostId>" + requestId
                    + "</HostId></Error>";
        } else if (protocol == Protocol.AWS_QUERY) {
            headers.add("Content-Type: text/xml");
            body = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"" + SQS_QUERY_XMLNS + "\"><Error><Type>" + fault
                    + "</Type><Code>" + xml(code) + "</Code><Message>" + xml(message) + "</Message><Detail/></Error>"
                    + "<RequestId>" + requestId + "</RequestId></ErrorResponse>";
        } else {
            String contentType = request.head().header("Content-Type")
                    .filter(type -> type.startsWith("application/x-amz-json-")).orElse("application/x-amz-json-1.0");
            headers.add("Content-Type: " + contentType);
            String type = namespace == null ? code : namespace + "#" + code;
            body = "{\"__type\":\"" + json(type) + "\",\"message\":\"" + json(message) + "\"}";
            if (protocol == Protocol.AWS_JSON_QUERY_COMPATIBLE) {
                headers.add("x-amzn-query-error: " + code + ";" + fault);
            }
            if (protocol == Protocol.UNKNOWN) {
                headers.add("x-amzn-ErrorType: " + code);
            }
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        if (isS3()) {
            headers.add("x-amz-request-id: " + requestId);
            headers.add("x-amz-id-2: " + requestId);
        } else {
            headers.add("x-amzn-RequestId: " + requestId);
        }
        if (isDynamoDb()) {
            CRC32 crc = new CRC32();
            crc.update(bytes);
            headers.add("x-amz-crc32: " + crc.getValue());
        }
        headers.add("Date: " + DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)));
        headers.add("Content-Length: " + bytes.length);
        if (close) {
            headers.add("Connection: close");
        }
        StringBuilder head = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason(status))
                .append("\r\n");
        headers.forEach(h -> head.append(h).append("\r\n"));
        head.append("\r\n");
        return HttpWire.concat(head.toString().getBytes(StandardCharsets.ISO_8859_1), bytes);
    }

    static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 409 -> "Conflict";
            case 413 -> "Request Entity Too Large";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            default -> "Error";
        };
    }

    /** A parameter of the form body ({@code application/x-www-form-urlencoded}) or else of the URL's query. */
    private static String queryParameter(HttpWire.Request request, String name) {
        boolean form = request.head().header("Content-Type")
                .map(type -> type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded"))
                .orElse(false);
        if (form) {
            String value = parameter(new String(request.body(), StandardCharsets.UTF_8), name);
            if (value != null) {
                return value;
            }
        }
        String target = request.target();
        int question = target.indexOf('?');
        return question < 0 ? null : parameter(target.substring(question + 1), name);
    }

    private static String parameter(String query, String name) {
        for (String pair : query.split("&")) {
            int equals = pair.indexOf('=');
            String key = equals < 0 ? pair : pair.substring(0, equals);
            if (URLDecoder.decode(key, StandardCharsets.UTF_8).equals(name)) {
                return equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static String json(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    private static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
