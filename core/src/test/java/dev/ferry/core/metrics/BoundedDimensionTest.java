package dev.ferry.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.core.FerryEnv;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BoundedDimensionTest {

    @Test
    void withoutAList_theFirstValuesCountAsThemselves_andEveryLaterOneAsOther() {
        BoundedDimension types = new BoundedDimension(2);
        assertEquals("sd", types.of("sd"));
        assertEquals("tts", types.of("tts"));
        assertEquals("other", types.of("typo-1"));
        assertEquals("sd", types.of("sd"), "one seen before keeps its own name");
        assertEquals("other", types.of(" "));
    }

    @Test
    void withTheConfiguredTypes_onlyThoseCountAsThemselves_howeverFewWereSeen() {
        BoundedDimension types = BoundedDimension.jobTypes(FerryEnv.of(Map.of("FERRY_JOB_TYPES", " sd, tts ,")));
        assertEquals("other", types.of("made-up"), "not configured: never a metric of its own");
        assertEquals("sd", types.of("sd"));
        assertEquals("tts", types.of("tts"));
        assertEquals("other", new BoundedDimension(20, Set.of("sd")).of("tts"));
    }
}
