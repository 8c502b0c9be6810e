package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CreateBucketRequest;
import software.amazon.awssdk.services.s3.model.ExpirationStatus;
import software.amazon.awssdk.services.s3.model.GetBucketLifecycleConfigurationResponse;
import software.amazon.awssdk.services.s3.model.HeadBucketResponse;
import software.amazon.awssdk.services.s3.model.LifecycleRule;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.PutBucketLifecycleConfigurationRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * {@link LocalResources} and an S3 that behaves as S3 does where the embedded S3Proxy cannot (it
 * keeps no lifecycle rules): a bucket is created with the template's rules in its region, an
 * existing one is used as it is when its rules match, never changed when they differ unless asked
 * to reconcile, and a name someone else owns stops the start.
 */
class LocalResourcesBucketTest {

    private static final String TEMPLATE = """
            Parameters:
              JobRetentionDays: {Type: Number, Default: 30}
            Resources:
              FilesBucket:
                Type: AWS::S3::Bucket
                Properties:
                  BucketName: !Sub "${AWS::StackName}-files-${AWS::AccountId}-${AWS::Region}"
                  LifecycleConfiguration:
                    Rules:
                      - {Id: ExpireJobFiles, Status: Enabled, Prefix: jobs/, ExpirationInDays: !Ref JobRetentionDays}
                      - {Id: AbortIncompleteUploads, Status: Enabled, AbortIncompleteMultipartUpload: {DaysAfterInitiation: 1}}
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  Handler: example.Handler
                  Environment:
                    Variables:
                      FERRY_BUCKET: !Ref FilesBucket
                      OBJECTS: !Sub "${FilesBucket.Arn}/jobs/*"
            """;

    @TempDir
    Path temp;

    /** An S3 with at most one bucket, recording the calls that change something. */
    private static final class FakeS3 {
        boolean exists;
        int headStatus = 200;
        List<LifecycleRule> rules = List.of();
        final List<String> changes = new ArrayList<>();
        final S3Client client = (S3Client) Proxy.newProxyInstance(S3Client.class.getClassLoader(),
                new Class<?>[] {S3Client.class}, handler());

        @SuppressWarnings("unchecked")
        private InvocationHandler handler() {
            return (proxy, method, args) -> {
                if (method.isDefault() && args != null && args.length == 1 && args[0] instanceof Consumer<?>) {
                    return InvocationHandler.invokeDefault(proxy, method, args); // builds the request
                }
                return switch (method.getName()) {
                    case "headBucket" -> {
                        if (headStatus == 403) {
                            throw S3Exception.builder().statusCode(403).awsErrorDetails(AwsErrorDetails.builder()
                                    .errorCode("403").build()).build();
                        }
                        if (!exists) {
                            throw NoSuchBucketException.builder().statusCode(404).build();
                        }
                        yield HeadBucketResponse.builder().build();
                    }
                    case "createBucket" -> {
                        CreateBucketRequest request = (CreateBucketRequest) args[0];
                        exists = true;
                        changes.add("createBucket " + request.bucket() + " in " + (request.createBucketConfiguration()
                                == null ? "us-east-1" : request.createBucketConfiguration().locationConstraintAsString()));
                        yield null;
                    }
                    case "getBucketLifecycleConfiguration" -> {
                        if (rules.isEmpty()) {
                            throw S3Exception.builder().statusCode(404).build();
                        }
                        yield GetBucketLifecycleConfigurationResponse.builder().rules(rules).build();
                    }
                    case "putBucketLifecycleConfiguration" -> {
                        rules = ((PutBucketLifecycleConfigurationRequest) args[0]).lifecycleConfiguration().rules();
                        changes.add("putBucketLifecycleConfiguration " + rules.size() + " rules");
                        yield null;
                    }
                    case "close" -> null;
                    default -> throw new AssertionError("unexpected S3 call " + method.getName());
                };
            };
        }
    }

    private SamTemplate template(String region) throws IOException {
        Path file = Files.writeString(temp.resolve("template.yaml"), TEMPLATE);
        return SamTemplate.load(file, Map.of(), new SamTemplate.PseudoParameters("ferry", region, "123456789012"));
    }

    private static LifecycleRule rule(String id, String prefix, Integer days, Integer abortDays) {
        LifecycleRule.Builder rule = LifecycleRule.builder().id(id).status(ExpirationStatus.ENABLED)
                .filter(f -> f.prefix(prefix));
        if (days != null) {
            rule.expiration(e -> e.days(days));
        }
        if (abortDays != null) {
            rule.abortIncompleteMultipartUpload(a -> a.daysAfterInitiation(abortDays));
        }
        return rule.build();
    }

    @Test
    void missingBucket_isCreatedInTheRegion_withTheTemplatesRules_andResolvesReferences() throws IOException {
        FakeS3 s3 = new FakeS3();
        SamTemplate template = template("eu-west-1");
        LocalResources resources = LocalResources.create(template, null, null, s3.client);
        assertEquals(List.of("createBucket ferry-files-123456789012-eu-west-1 in eu-west-1",
                "putBucketLifecycleConfiguration 2 rules"), s3.changes);
        assertEquals(List.of(rule("ExpireJobFiles", "jobs/", 30, null), rule("AbortIncompleteUploads", "", null, 1)),
                s3.rules);
        assertEquals(List.of("ferry-files-123456789012-eu-west-1"), resources.created());
        Map<String, String> env = template.environment("Fn", resources);
        assertEquals("ferry-files-123456789012-eu-west-1", env.get("FERRY_BUCKET"));
        assertEquals("arn:aws:s3:::ferry-files-123456789012-eu-west-1/jobs/*", env.get("OBJECTS"));

        FakeS3 east = new FakeS3();
        LocalResources.create(template("us-east-1"), null, null, east.client);
        assertEquals("createBucket ferry-files-123456789012-us-east-1 in us-east-1", east.changes.get(0),
                "S3 refuses a location constraint of us-east-1");
    }

    @Test
    void existingBucketWithTheTemplatesRules_isUsedAsItIs() throws IOException {
        FakeS3 s3 = new FakeS3();
        s3.exists = true;
        s3.rules = List.of(rule("AbortIncompleteUploads", "", null, 1), rule("ExpireJobFiles", "jobs/", 30, null));
        LocalResources resources = LocalResources.create(template("us-east-1"), null, null, s3.client);
        assertEquals(List.of(), s3.changes);
        assertEquals(List.of(), resources.created(), "not this run's: never deleted by it");
    }

    @Test
    void existingBucketWithOtherRules_isNeverChanged_unlessAskedToReconcile() throws IOException {
        FakeS3 s3 = new FakeS3();
        s3.exists = true;
        s3.rules = List.of(rule("ExpireJobFiles", "jobs/", 7, null));
        TemplateException refused = assertThrows(TemplateException.class,
                () -> LocalResources.create(template("us-east-1"), null, null, s3.client));
        assertTrue(refused.getMessage().contains("bucket ferry-files-123456789012-us-east-1 exists with settings other"
                + " than the template's: lifecycle rules are [ExpireJobFiles: jobs/ expires after 7 days] (the template"
                + " says [AbortIncompleteUploads: every object aborts incomplete multipart uploads after 1 day,"
                + " ExpireJobFiles: jobs/ expires after 30 days])"), refused.getMessage());
        assertTrue(refused.getMessage().contains("FERRY_RECONCILE=true"), refused.getMessage());
        assertEquals(List.of(), s3.changes);

        LocalResources.create(template("us-east-1"), null, null, s3.client, true);
        assertEquals(List.of("putBucketLifecycleConfiguration 2 rules"), s3.changes);

        FakeS3 none = new FakeS3();
        none.exists = true;
        TemplateException withoutRules = assertThrows(TemplateException.class,
                () -> LocalResources.create(template("us-east-1"), null, null, none.client));
        assertTrue(withoutRules.getMessage().contains("lifecycle rules are none"), withoutRules.getMessage());

        FakeS3 more = new FakeS3();
        more.exists = true;
        more.rules = List.of(rule("AbortIncompleteUploads", "", null, 1), rule("ExpireJobFiles", "jobs/", 30, null)
                .toBuilder().transitions(t -> t.days(1).storageClass("GLACIER")).build());
        TemplateException transitions = assertThrows(TemplateException.class,
                () -> LocalResources.create(template("us-east-1"), null, null, more.client));
        assertTrue(transitions.getMessage().contains("ExpireJobFiles: jobs/ expires after 30 days and more"),
                transitions.getMessage());
    }

    @Test
    void bucketNameOwnedBySomeoneElse_stopsTheStart() throws IOException {
        FakeS3 s3 = new FakeS3();
        s3.headStatus = 403;
        TemplateException error = assertThrows(TemplateException.class,
                () -> LocalResources.create(template("us-east-1"), null, null, s3.client));
        assertTrue(error.getMessage().contains("bucket ferry-files-123456789012-us-east-1 exists, but these credentials"
                + " may not use it"), error.getMessage());
    }

    @Test
    void templateWithABucket_needsAnS3Client() throws IOException {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> LocalResources.create(template("us-east-1"), null, null, null));
        assertTrue(error.getMessage().contains("ferry-files-123456789012-us-east-1"), error.getMessage());
    }
}
