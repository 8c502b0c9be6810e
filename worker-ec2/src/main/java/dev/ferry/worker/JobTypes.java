package dev.ferry.worker;

import dev.ferry.core.FerryEnv;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The job types a worker runs and how, read once from the environment. A type is run by exactly
 * one of:
 *
 * <ul>
 *   <li>{@code FERRY_COMMAND_<TYPE>}: a command per job (input JSON on stdin, result on stdout);</li>
 *   <li>{@code FERRY_HANDLER_<TYPE>}: a warm handler, one long-lived process per slot speaking
 *       Ferry's JSON-lines protocol ({@link LineProtocolProcess});</li>
 *   <li>{@code FERRY_COG_<TYPE>}: a command that serves a Cog model's HTTP prediction API on
 *       {@code $PORT}, one per slot;</li>
 *   <li>{@code FERRY_SAGEMAKER_<TYPE>}: a command that serves SageMaker's container contract
 *       ({@code GET /ping}, {@code POST /invocations}) on {@code $PORT}, one per slot.</li>
 * </ul>
 *
 * <p>With {@code FERRY_TIMEOUT_<TYPE>} (else {@code FERRY_JOB_TIMEOUT}, else 1 hour) for each
 * job, {@code FERRY_SETUP_TIMEOUT_<TYPE>} (else {@code FERRY_SETUP_TIMEOUT}, else 15 minutes) for a
 * warm handler to say it is ready, and {@code FERRY_EVALUATE_ON_EXIT[_<TYPE>]} ({@link ExitRules}).
 * {@code <TYPE>} is the type upper-cased, every character outside {@code A-Z0-9} written as
 * {@code _}.
 */
public final class JobTypes {

    /** How a job type runs. */
    public enum Kind {
        COMMAND("FERRY_COMMAND_"),
        HANDLER("FERRY_HANDLER_"),
        COG("FERRY_COG_"),
        SAGEMAKER("FERRY_SAGEMAKER_");

        private final String prefix;

        Kind(String prefix) {
            this.prefix = prefix;
        }

        /** The prefix of its variable: {@code FERRY_COMMAND_}. */
        public String prefix() {
            return prefix;
        }

        /** Whether it runs on a long-lived process per slot. */
        public boolean warm() {
            return this != COMMAND;
        }
    }

    public static final String TIMEOUT_PREFIX = WorkerConfig.TIMEOUT_PREFIX;
    public static final String JOB_TIMEOUT = WorkerConfig.JOB_TIMEOUT;
    public static final String SETUP_TIMEOUT_PREFIX = "FERRY_SETUP_TIMEOUT_";
    public static final String SETUP_TIMEOUT = "FERRY_SETUP_TIMEOUT";
    public static final Duration DEFAULT_JOB_TIMEOUT = Duration.ofHours(1);
    public static final Duration DEFAULT_SETUP_TIMEOUT = Duration.ofMinutes(15);
    /**
     * The longest a job may run: SQS keeps a message out of sight for 12 hours from its first
     * receive, and a lease (at most an hour) must fit beside the run.
     */
    public static final Duration MAX_TIMEOUT = Duration.ofHours(11);

    private static final Pattern NOT_ENV_CHAR = Pattern.compile("[^A-Z0-9]");

    /**
     * One job type's settings.
     *
     * @param name the type as its variables name it ({@code SD_XL})
     * @param command the command line (run by {@code /bin/sh -c})
     * @param timeout how long one job may run; positive, at most {@link #MAX_TIMEOUT}
     * @param setupTimeout how long a warm handler may take to say it is ready
     * @param exitRules which failures are worth another attempt
     */
    public record Spec(String name, Kind kind, String command, Duration timeout, Duration setupTimeout,
                       ExitRules exitRules) {
        public Spec {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(command, "command");
            Objects.requireNonNull(timeout, "timeout");
            Objects.requireNonNull(setupTimeout, "setupTimeout");
            Objects.requireNonNull(exitRules, "exitRules");
            if (command.isBlank()) {
                throw new IllegalArgumentException(kind.prefix() + name + " is empty: set it to the command line that"
                        + " runs jobs of that type");
            }
        }
    }

    private JobTypes() {
    }

    /**
     * The {@code <TYPE>} part of the variables of a job type.
     *
     * @param type a job type, such as {@code "sd-xl.v2"}
     * @return the type in upper case ({@link Locale#ROOT}), every character outside
     *     {@code [A-Z0-9]} replaced by {@code _}: {@code "SD_XL_V2"}
     */
    public static String envSuffix(String type) {
        return NOT_ENV_CHAR.matcher(type.toUpperCase(Locale.ROOT)).replaceAll("_");
    }

    /**
     * Every job type {@code env} configures, by {@link #envSuffix}.
     *
     * @throws IllegalArgumentException a variable is malformed, a type has two kinds, or a
     *     setting names a type nothing runs; the message names the variable
     */
    public static Map<String, Spec> fromEnvironment(Map<String, String> env) {
        Duration defaultTimeout = env.containsKey(JOB_TIMEOUT)
                ? parseTimeout(JOB_TIMEOUT, env.get(JOB_TIMEOUT), MAX_TIMEOUT)
                : DEFAULT_JOB_TIMEOUT;
        Duration defaultSetup = env.containsKey(SETUP_TIMEOUT)
                ? parseTimeout(SETUP_TIMEOUT, env.get(SETUP_TIMEOUT), Duration.ofHours(11))
                : DEFAULT_SETUP_TIMEOUT;
        ExitRules everyType = env.containsKey(ExitRules.VARIABLE)
                ? ExitRules.parse(ExitRules.VARIABLE, env.get(ExitRules.VARIABLE))
                : ExitRules.none();
        Map<String, Spec> specs = new TreeMap<>();
        Map<String, Kind> kinds = new TreeMap<>();
        env.forEach((variable, value) -> {
            for (Kind kind : Kind.values()) {
                if (variable.startsWith(kind.prefix())) {
                    String type = typeOf(variable, kind.prefix());
                    Kind other = kinds.put(type, kind);
                    if (other != null) {
                        throw new IllegalArgumentException(other.prefix() + type + " and " + variable + " are both set:"
                                + " a job type runs one way only");
                    }
                }
            }
        });
        kinds.forEach((type, kind) -> {
            String timeoutName = TIMEOUT_PREFIX + type;
            Duration timeout = env.containsKey(timeoutName)
                    ? parseTimeout(timeoutName, env.get(timeoutName), MAX_TIMEOUT) : defaultTimeout;
            String setupName = SETUP_TIMEOUT_PREFIX + type;
            Duration setup = env.containsKey(setupName)
                    ? parseTimeout(setupName, env.get(setupName), Duration.ofHours(11)) : defaultSetup;
            String rulesName = ExitRules.VARIABLE + "_" + type;
            ExitRules rules = env.containsKey(rulesName)
                    ? ExitRules.parse(rulesName, env.get(rulesName)).then(everyType) : everyType;
            specs.put(type, new Spec(type, kind, env.get(kind.prefix() + type), timeout, setup, rules));
        });
        for (String prefix : new String[] {TIMEOUT_PREFIX, SETUP_TIMEOUT_PREFIX, ExitRules.VARIABLE + "_"}) {
            env.keySet().stream().filter(name -> name.startsWith(prefix)).forEach(name -> {
                String type = typeOf(name, prefix);
                if (!kinds.containsKey(type)) {
                    throw new IllegalArgumentException(name + " is set but nothing runs job type " + type + ": set "
                            + Kind.COMMAND.prefix() + type + " (or " + Kind.HANDLER.prefix() + type + ", "
                            + Kind.COG.prefix() + type + ", " + Kind.SAGEMAKER.prefix() + type + ")");
                }
            });
        }
        return specs;
    }

    private static String typeOf(String name, String prefix) {
        String type = name.substring(prefix.length());
        if (type.isEmpty() || !type.equals(envSuffix(type))) {
            throw new IllegalArgumentException(name + " is not a valid name: after " + prefix
                    + " comes the job type in upper case, with every character outside A-Z and 0-9 written as _");
        }
        return type;
    }

    static Duration parseTimeout(String name, String value, Duration max) {
        Duration timeout;
        try {
            timeout = FerryEnv.parseDuration(name, value.strip());
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(name + " must be a positive number of seconds (90) or ISO-8601 duration "
                    + "(PT90S), got '" + value + "'", e);
        }
        if (timeout.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive number of seconds (90) or ISO-8601 duration "
                    + "(PT90S), got '" + value + "'");
        }
        if (timeout.compareTo(max) > 0) {
            throw new IllegalArgumentException(name + " is " + timeout + ", over the limit of " + max
                    + ": SQS keeps a message out of sight for 12 hours at most, less one lease");
        }
        return timeout;
    }
}
