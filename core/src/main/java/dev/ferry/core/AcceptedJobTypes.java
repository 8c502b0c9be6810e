package dev.ferry.core;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@value FerryEnv#JOB_TYPES}: the job types the API accepts, a comma-separated list; empty
 * accepts any type. A class of its own (not a method of {@link FerryEnv}) so that only what uses
 * the list is seen to read the variable (TemplateAgreementTest checks each function's variables).
 */
public final class AcceptedJobTypes {

    private AcceptedJobTypes() {
    }

    /** The configured types; empty when any type is accepted. */
    public static Set<String> from(FerryEnv env) {
        return env.optional(FerryEnv.JOB_TYPES)
                .map(list -> Arrays.stream(list.split(",")).map(String::trim).filter(t -> !t.isEmpty())
                        .collect(Collectors.toUnmodifiableSet()))
                .orElse(Set.of());
    }
}
