package dev.ferry.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code infra/template.yaml} with a second pool: {@code Light}, a job queue and dead-letter queue
 * of its own (copies of the template's, renamed), and the submit function told of both pools
 * ({@code FERRY_POOLS}, {@code FERRY_POOL_<name>_*}). Pool {@code Gpu} is the template's own queue
 * and serves {@code sample} and {@code gpu.#}; {@code Light} serves {@code light.#}. Made from the
 * real template at test time, so that it follows every change to it.
 */
final class TwoPoolTemplate {

    static final String GPU = "Gpu";
    static final String LIGHT = "Light";

    private TwoPoolTemplate() {
    }

    /** Writes it into {@code dir}; returns its path. */
    static Path write(Path dir) {
        try {
            String template = Files.readString(SamTemplate.find(Path.of("")));
            int queues = template.indexOf("\n  JobQueue:\n");
            int table = template.indexOf("\n  JobsTable:\n");
            if (queues < 0 || table < queues) {
                throw new IllegalStateException("the template's JobQueue and JobDeadLetterQueue are not where"
                        + " TwoPoolTemplate expects them (before JobsTable)");
            }
            String light = template.substring(queues, table)
                    .replace("JobQueue", LIGHT + "JobQueue")
                    .replace("JobDeadLetterQueue", LIGHT + "JobDeadLetterQueue")
                    .replace("${AWS::StackName}-jobs", "${AWS::StackName}-light-jobs");
            String submitQueue = "          FERRY_QUEUE_URL: !Ref JobQueue\n";
            int submit = template.indexOf(submitQueue, template.indexOf("\n  SubmitJobFunction:\n"));
            String pools = """
                              FERRY_POOLS: "%1$s, %2$s"
                              FERRY_POOL_%1$s_QUEUE_URL: !Ref JobQueue
                              FERRY_POOL_%1$s_DLQ_URL: !Ref JobDeadLetterQueue
                              FERRY_POOL_%1$s_TYPES: "sample, gpu.#"
                              FERRY_POOL_%2$s_QUEUE_URL: !Ref %2$sJobQueue
                              FERRY_POOL_%2$s_DLQ_URL: !Ref %2$sJobDeadLetterQueue
                              FERRY_POOL_%2$s_TYPES: "light.#"
                    """.formatted(GPU, LIGHT);
            String twoPools = template.substring(0, submit) + pools
                    + template.substring(submit + submitQueue.length(), table) + light + template.substring(table);
            Path path = dir.resolve("two-pool-template.yaml");
            Files.writeString(path, twoPools);
            return path;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
