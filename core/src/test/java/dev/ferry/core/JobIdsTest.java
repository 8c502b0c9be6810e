package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JobIdsTest {

    /** A stand-in for a SnapStart snapshot: the generator's heap state, copied and restored. */
    private static JobIds snapshotAndRestore(JobIds ids) throws IOException, ClassNotFoundException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(ids);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (JobIds) in.readObject();
        }
    }

    @Test
    void newId_afterSnapshotRestore_staysUnique() throws Exception {
        JobIds initialized = new JobIds();
        initialized.newId(); // used during init, as a handler's constructor might

        JobIds restoredA = snapshotAndRestore(initialized);
        JobIds restoredB = snapshotAndRestore(initialized);

        assertNotEquals(restoredA.newId(), restoredB.newId());
    }

    @Test
    void snapshotCheck_catchesAGeneratorSeededBeforeTheSnapshot() throws Exception {
        // The hazard the test above guards against: state captured in the snapshot repeats.
        Random seeded = new Random(42);
        JobIds.Entropy fromHeap = seeded::nextBytes;
        JobIds initialized = new JobIds(fromHeap, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));

        assertEquals(snapshotAndRestore(initialized).newId(), snapshotAndRestore(initialized).newId());
    }

    @Test
    void newId_isUlidShaped_andSortsByTime() {
        JobIds early = new JobIds(b -> { }, Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC));
        JobIds late = new JobIds(b -> { }, Clock.fixed(Instant.parse("2026-06-01T00:00:00Z"), ZoneOffset.UTC));

        String a = early.newId();
        String b = late.newId();

        assertTrue(JobIds.looksLikeId(a), a);
        assertTrue(a.compareTo(b) < 0, a + " < " + b);
    }

    @Test
    void newId_manyAreDistinct() {
        JobIds ids = new JobIds();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            assertTrue(seen.add(ids.newId()));
        }
    }

    @Test
    void forIdempotencyKey_isStablePerScope() {
        String id = JobIds.forIdempotencyKey("key:abc", "order-17");

        assertEquals(id, JobIds.forIdempotencyKey("key:abc", "order-17"));
        assertNotEquals(id, JobIds.forIdempotencyKey("key:xyz", "order-17"));
        assertNotEquals(id, JobIds.forIdempotencyKey("key:abc", "order-18"));
        assertTrue(JobIds.looksLikeId(id), id);
    }

    @Test
    void looksLikeId_rejectsOtherShapes() {
        assertTrue(JobIds.looksLikeId("01JD3N3Y3ZX2W0K7Q8M9P4R5S6"));
        assertEquals(false, JobIds.looksLikeId("01JD3N3Y3ZX2W0K7Q8M9P4R5SU")); // U is not Crockford
        assertEquals(false, JobIds.looksLikeId("short"));
        assertEquals(false, JobIds.looksLikeId(null));
    }
}
