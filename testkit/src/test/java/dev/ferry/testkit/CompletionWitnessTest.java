package dev.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.ferry.core.JobTable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.Record;
import software.amazon.awssdk.services.dynamodb.model.StreamRecord;

/** The witness's counting, on change records as the stream carries them (old and new images). */
class CompletionWitnessTest {

    private static final String JOB = "01JOB";

    /** Builds a job's history write by write: each {@link #write} is one change record. */
    private static final class History {
        private final List<Record> records = new ArrayList<>();
        private Map<String, AttributeValue> image;

        History write(String status, Map<String, AttributeValue> changes) {
            Map<String, AttributeValue> next = new HashMap<>(image == null ? Map.of() : image);
            next.put(JobTable.JOB_ID, AttributeValue.fromS(JOB));
            next.put(JobTable.STATUS, AttributeValue.fromS(status));
            next.putAll(changes);
            records.add(Record.builder().dynamodb(StreamRecord.builder().oldImage(image).newImage(next).build()).build());
            image = next;
            return this;
        }

        History write(String status) {
            return write(status, Map.of());
        }

        History claim(String leaseId) {
            return write("RUNNING", Map.of(JobTable.LEASE_ID, AttributeValue.fromS(leaseId)));
        }

        History delete() {
            records.add(Record.builder().dynamodb(StreamRecord.builder().oldImage(image).build()).build());
            image = null;
            return this;
        }

        CompletionWitness.Completions read() {
            return CompletionWitness.of(records);
        }
    }

    private static Map<String, AttributeValue> marked(int redrives) {
        return Map.of(JobTable.REDRIVE_REQUESTED_AT, AttributeValue.fromS("2026-01-01T00:00:0" + redrives + "Z"),
                JobTable.REDRIVES, AttributeValue.fromN(Integer.toString(redrives)),
                JobTable.UPDATED_AT, AttributeValue.fromS("2026-01-01T00:00:0" + redrives + "Z"));
    }

    @Test
    void oneCompletion_isOne() {
        var completions = new History().write("PENDING").write("QUEUED").claim("a").write("SUCCEEDED").read();

        assertEquals(1, completions.perJob().get(JOB));
        assertEquals(List.of(), completions.doubled());
    }

    @Test
    void secondCompletion_inTheSameRound_isDouble() {
        var completions = new History().write("QUEUED").claim("a").write("SUCCEEDED")
                .write("SUCCEEDED", Map.of(JobTable.RESULT, AttributeValue.fromS("{\"run\":\"other\"}"))).read();

        assertEquals(List.of(JOB), completions.doubled());
    }

    @Test
    void redriveMark_onAFailedRecord_isNoOverwrite() {
        var completions = new History().write("QUEUED").claim("a").write("FAILED").write("FAILED", marked(1)).read();

        assertEquals(1, completions.perJob().get(JOB));
    }

    @Test
    void redriveRound_thatCompletesAgain_isNotDouble() {
        var completions = new History().write("QUEUED").claim("a").write("FAILED").write("FAILED", marked(1))
                .claim("b").write("SUCCEEDED").read();

        assertEquals(1, completions.perJob().get(JOB));
        assertEquals(1, completions.history(JOB).redriveRounds());
        assertEquals(1, completions.history(JOB).failures());
    }

    @Test
    void otherChange_toAFailedRecord_isAnOverwrite() {
        var completions = new History().write("QUEUED").claim("a").write("FAILED")
                .write("FAILED", Map.of(JobTable.ERROR, AttributeValue.fromS("another error"))).read();

        assertEquals(List.of(JOB), completions.doubled());
    }

    @Test
    void retriesAndTakeovers_areToldApart_fromGiveBacks() {
        var completions = new History().write("QUEUED")
                .claim("a").write("QUEUED", Map.of(JobTable.ERROR, AttributeValue.fromS("exit 3"))) // a retry
                .claim("b").claim("c") // c took b's lease over once it ran out
                .write("QUEUED", Map.of(JobTable.PREEMPTIONS, AttributeValue.fromN("1"))) // c gave it back
                .claim("d")
                .write("RUNNING", Map.of(JobTable.LEASE_ID, AttributeValue.fromS("e"),
                        JobTable.PREEMPTIONS, AttributeValue.fromN("2"))) // e took over a lease given back
                .write("SUCCEEDED").read();

        var history = completions.history(JOB);
        assertEquals(1, history.retries());
        assertEquals(1, history.takeovers());
        assertEquals(1, completions.perJob().get(JOB));
    }

    @Test
    void deletion_isRemembered_withTheStatusItHad() {
        var completions = new History().write("QUEUED").claim("a").write("SUCCEEDED").delete().read();

        assertEquals("SUCCEEDED", completions.history(JOB).deletedWhile());
        assertNull(completions.history("other").deletedWhile());
    }
}
