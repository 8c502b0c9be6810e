package dev.ferry.local;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;

/**
 * What tests read out of {@code infra/template.yaml} (the raw template, CloudFormation's short
 * tags in their long forms) and out of the compiled code (which environment variables and which
 * AWS services a class and everything of Ferry's it references can touch).
 */
final class TemplateFacts {

    static final Path TEMPLATE = SamTemplate.find(Path.of(""));

    private TemplateFacts() {
    }

    /** The first pool of the template's Mappings (its resources are {@code <pool>JobQueue}, ...). */
    static final String POOL = "Gpu";

    /**
     * The template as CloudFormation reads it once AWS::LanguageExtensions has expanded its pools'
     * loops, e.g. {@code {"Ref": "GpuJobQueue"}} for {@code Ref: {Fn::Sub: "${Pool}JobQueue"}}.
     */
    static Map<String, Object> raw() {
        return LanguageExtensions.expand(unexpanded(), Map.of(), (where, message) ->
                new TemplateException("Template " + TEMPLATE + ", " + where + ": " + message));
    }

    /** The template as written, its Fn::ForEach loops included. */
    static Map<String, Object> unexpanded() {
        return CloudFormationYaml.load(TEMPLATE);
    }

    static Map<String, Object> resource(String logicalId) {
        return map(map(raw(), "Resources"), logicalId);
    }

    static Map<String, Object> properties(String logicalId) {
        return map(resource(logicalId), "Properties");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Map<String, Object> node, String key) {
        Object value = node.get(key);
        if (!(value instanceof Map<?, ?>)) {
            throw new AssertionError(key + " is not a mapping in " + node.keySet());
        }
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> node, String key) {
        Object value = node.get(key);
        if (!(value instanceof List<?>)) {
            throw new AssertionError(key + " is not a list in " + node.keySet());
        }
        return (List<Object>) value;
    }

    /**
     * The workers' bootstrap script: the first pool's launch template's user data, before Fn::Sub
     * (whose second part names the pool's queues).
     */
    static String userData() {
        Map<String, Object> data = map(properties(POOL + "WorkerLaunchTemplate"), "LaunchTemplateData");
        Map<String, Object> base64 = map(data, "UserData");
        Object sub = map(base64, "Fn::Base64").get("Fn::Sub");
        if (!(sub instanceof List<?> parts) || parts.size() != 2 || !(parts.get(0) instanceof String script)) {
            throw new AssertionError("UserData must be !Base64 of a !Sub [script, variables], but is " + base64);
        }
        return script;
    }

    /** The lines the bootstrap writes to {@code file} with {@code cat > file <<EOF} (or {@code <<'EOF'}). */
    static List<String> heredoc(String script, String file) {
        List<String> lines = script.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.startsWith("cat > " + file + " <<")) {
                List<String> body = new ArrayList<>();
                for (int j = i + 1; j < lines.size() && !lines.get(j).strip().equals("EOF"); j++) {
                    body.add(lines.get(j));
                }
                return body;
            }
        }
        throw new AssertionError("the bootstrap writes no " + file);
    }

    /** {@code KEY=value} lines as a map, comments and blank lines skipped. */
    static Map<String, String> envLines(List<String> lines) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : lines) {
            String stripped = line.strip();
            if (stripped.isEmpty() || stripped.startsWith("#")) {
                continue;
            }
            int eq = stripped.indexOf('=');
            if (eq <= 0) {
                throw new AssertionError("not KEY=value: " + line);
            }
            env.put(stripped.substring(0, eq), stripped.substring(eq + 1));
        }
        return env;
    }

    /** Actions of one IAM statement, {@code Action} being a string or a list. */
    static List<String> actions(Map<String, Object> statement) {
        Object action = statement.get("Action");
        if (action instanceof String one) {
            return List.of(one);
        }
        if (!(action instanceof List<?>)) {
            throw new AssertionError("Action must be a string or a list: " + statement);
        }
        List<String> all = new ArrayList<>();
        for (Object each : (List<?>) action) {
            all.add((String) each);
        }
        return all;
    }

    /** A parameter's declaration: {@code Type}, {@code Default}, bounds, {@code Description}. */
    static Map<String, Object> parameter(String name) {
        return map(map(raw(), "Parameters"), name);
    }

    /** The template's parameters of {@code Type: Number}, by name, in template order. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> numberParameters() {
        Map<String, Map<String, Object>> numbers = new LinkedHashMap<>();
        map(raw(), "Parameters").forEach((name, declaration) -> {
            if ("Number".equals(((Map<String, Object>) declaration).get("Type"))) {
                numbers.put(name, (Map<String, Object>) declaration);
            }
        });
        return numbers;
    }

    /** A number the template writes as a YAML number or a string, e.g. a parameter's {@code MinValue}. */
    static long number(Map<String, Object> node, String key) {
        Object value = node.get(key);
        if (value instanceof Number n) {
            return n.longValue();
        }
        if (value instanceof String text) {
            return Long.parseLong(text.strip());
        }
        throw new AssertionError((value == null ? "no " + key : key + " is not a number") + " in " + node);
    }

    /** Statements of the named inline policy of an {@code AWS::IAM::Role}. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> rolePolicy(String role, String policyName) {
        for (Object policy : list(properties(role), "Policies")) {
            Map<String, Object> p = (Map<String, Object>) policy;
            if (policyName.equals(p.get("PolicyName"))) {
                return (List<Map<String, Object>>) (List<?>) list(map(p, "PolicyDocument"), "Statement");
            }
        }
        throw new AssertionError(role + " has no policy " + policyName);
    }

    /**
     * One IAM statement read as a grant: {@code Effect: Allow} of {@code Action} (a string or a
     * list) on {@code Resource} (a string, an intrinsic, or a list of them), under its
     * {@code Condition} if any. Shapes the tests cannot reason about ({@code Deny},
     * {@code NotAction}, {@code NotResource}) fail loudly instead of being misread.
     *
     * @param sid the statement's {@code Sid}, or {@code ""}
     * @param actions e.g. {@code sqs:SendMessage}
     * @param resources each as the template writes it: {@code "*"}, {@code {"Fn::GetAtt": [id, "Arn"]}},
     *     {@code {"Ref": id}}, {@code {"Fn::Sub": "arn:..."}}
     * @param condition the {@code Condition} block (operator to key to value); empty when there is none
     */
    record Grant(String sid, List<String> actions, List<Object> resources, Map<String, Object> condition) {

        Grant {
            actions = List.copyOf(actions);
            resources = List.copyOf(resources);
            condition = Map.copyOf(condition);
        }

        /** The services of its actions: {@code sqs}, {@code dynamodb}, {@code autoscaling}, ... */
        Set<String> services() {
            Set<String> services = new TreeSet<>();
            actions.forEach(action -> services.add(action.substring(0, action.indexOf(':'))));
            return services;
        }

        /** Whether it grants on any resource ({@code Resource: "*"}). */
        boolean onAnyResource() {
            return resources.contains("*");
        }

        /**
         * The logical ids of the template's resources it names by {@code !GetAtt <id>.Arn} or
         * {@code !Ref <id>}; ARNs it spells out ({@code !Sub}, literals) are not among them.
         */
        Set<String> resourceIds() {
            Set<String> ids = new TreeSet<>();
            for (Object resource : resources) {
                if (resource instanceof Map<?, ?> node && node.get("Fn::GetAtt") instanceof List<?> getAtt
                        && getAtt.size() == 2 && "Arn".equals(getAtt.get(1))) {
                    ids.add((String) getAtt.get(0));
                } else if (resource instanceof Map<?, ?> node && node.get("Ref") instanceof String id) {
                    ids.add(id);
                }
            }
            return ids;
        }

        /**
         * The condition operators that test {@code key} (e.g. {@code autoscaling:ResourceTag/Name}),
         * each with the value it is tested against: {@code {"StringEquals": ...}}. Empty when no
         * condition names the key.
         */
        @SuppressWarnings("unchecked")
        Map<String, Object> conditionsOn(String key) {
            Map<String, Object> found = new LinkedHashMap<>();
            condition.forEach((operator, tests) -> {
                if (!(tests instanceof Map<?, ?>)) {
                    throw new AssertionError("Condition." + operator + " must be a mapping of keys to values: "
                            + tests);
                }
                Object value = ((Map<String, Object>) tests).get(key);
                if (value != null) {
                    found.put(operator, value);
                }
            });
            return found;
        }

        /** The ARN patterns it spells out with {@code !Sub} (before substitution), or as literals other than {@code "*"}. */
        List<String> arnPatterns() {
            List<String> patterns = new ArrayList<>();
            for (Object resource : resources) {
                if (resource instanceof Map<?, ?> node && node.get("Fn::Sub") instanceof String pattern) {
                    patterns.add(pattern);
                } else if (resource instanceof String literal && !"*".equals(literal)) {
                    patterns.add(literal);
                }
            }
            return patterns;
        }
    }

    /** A statement as a {@link Grant}. */
    static Grant grant(Map<String, Object> statement) {
        for (String unsupported : List.of("NotAction", "NotResource", "NotPrincipal")) {
            if (statement.containsKey(unsupported)) {
                throw new AssertionError("statement uses " + unsupported + ", which these tests do not read: "
                        + statement);
            }
        }
        if (!"Allow".equals(statement.get("Effect"))) {
            throw new AssertionError("only Allow statements are read as grants: " + statement);
        }
        Object resource = statement.get("Resource");
        if (resource == null) {
            throw new AssertionError("statement has no Resource: " + statement);
        }
        List<Object> resources = resource instanceof List<?> list ? new ArrayList<>(list) : List.of(resource);
        Object sid = statement.getOrDefault("Sid", "");
        @SuppressWarnings("unchecked")
        Map<String, Object> condition = statement.get("Condition") instanceof Map<?, ?> c
                ? (Map<String, Object>) c : Map.of();
        if (statement.containsKey("Condition") && condition.isEmpty()) {
            throw new AssertionError("Condition must be a non-empty mapping: " + statement);
        }
        return new Grant(String.valueOf(sid), actions(statement), resources, condition);
    }

    /** The statements of the named inline policy of an {@code AWS::IAM::Role}, as grants. */
    static List<Grant> grants(String role, String policyName) {
        return rolePolicy(role, policyName).stream().map(TemplateFacts::grant).toList();
    }

    // ---------------------------------------------------------------------------------------------
    // The compiled code

    /**
     * What a class and every {@code dev.ferry} class it references, transitively, can read or
     * call. It over-approximates (a referenced class may have paths this one never takes), which
     * is the safe side for "the template must provide what the code may read".
     *
     * @param variables {@code FERRY_*} names pushed on the stack as constants (a name ending in
     *     {@code _} is a prefix: {@code FERRY_COMMAND_})
     * @param services AWS SDK service packages referenced ({@code sqs}, {@code dynamodb}, ...)
     * @param classes the classes scanned
     */
    record CodeReach(Set<String> variables, Set<String> services, Set<String> classes) {
    }

    private static final Pattern POOL_CLASS = Pattern.compile("= Class\\s+#\\d+\\s+// \"?\\[*L?([\\w/$]+)");
    private static final Pattern LDC_STRING = Pattern.compile("\\bldc(?:_w)?\\s+#\\d+\\s+// String (FERRY_\\w*)");
    private static final Pattern CONCAT_PREFIX = Pattern.compile("= String\\s+#\\d+\\s+// (FERRY_\\w*_)\\\\u0001");
    private static final Pattern SERVICE = Pattern.compile("^software/amazon/awssdk/services/([a-z0-9]+)/");

    /** One class file's own facts: the Ferry classes it names, the variables, the services. */
    private record ClassScan(Set<String> references, Set<String> variables, Set<String> services) {
    }

    private static final Map<String, ClassScan> SCANNED = new HashMap<>();
    private static final Map<Class<?>, CodeReach> REACHED = new HashMap<>();

    /** Everything {@code rootClass} can reach in Ferry's own code, read from its bytecode with javap. */
    static synchronized CodeReach reach(Class<?> rootClass) {
        CodeReach known = REACHED.get(rootClass);
        if (known != null) {
            return known;
        }
        Set<String> variables = new TreeSet<>();
        Set<String> services = new TreeSet<>();
        Set<String> seen = new TreeSet<>();
        List<String> level = List.of(rootClass.getName().replace('.', '/'));
        while (!level.isEmpty()) {
            seen.addAll(level);
            scan(level, rootClass.getClassLoader());
            Set<String> next = new TreeSet<>();
            for (String name : level) {
                ClassScan scan = SCANNED.get(name);
                variables.addAll(scan.variables());
                services.addAll(scan.services());
                scan.references().stream().filter(r -> !seen.contains(r)).forEach(next::add);
            }
            level = List.copyOf(next);
        }
        CodeReach reach = new CodeReach(variables, services, seen);
        REACHED.put(rootClass, reach);
        return reach;
    }

    /** Runs javap once over the classes of {@code names} not scanned yet. */
    private static void scan(List<String> names, ClassLoader loader) {
        List<String> todo = names.stream().filter(n -> !SCANNED.containsKey(n)).toList();
        if (todo.isEmpty()) {
            return;
        }
        ToolProvider javap = ToolProvider.findFirst("javap").orElseThrow(() -> new AssertionError(
                "no javap in this JDK (module jdk.jdeps): the test reads class files with it"));
        Path dir;
        Map<String, String> classByFile = new HashMap<>();
        List<String> args = new ArrayList<>(List.of("-c", "-p", "-v"));
        try {
            dir = Files.createTempDirectory("ferry-javap-");
            for (String name : todo) {
                URL url = loader.getResource(name + ".class");
                if (url == null) {
                    throw new AssertionError("class file of " + name + " not found");
                }
                Path file = dir.resolve(classByFile.size() + ".class");
                try (InputStream in = url.openStream()) {
                    Files.write(file, in.readAllBytes());
                }
                classByFile.put(file.toString(), name);
                args.add(file.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = javap.run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        if (rc != 0) {
            throw new AssertionError("javap failed: " + err);
        }
        String current = null;
        Set<String> references = null;
        Set<String> variables = null;
        Set<String> services = null;
        for (String line : out.toString().lines().toList()) {
            if (line.startsWith("Classfile ")) {
                current = classByFile.get(line.substring("Classfile ".length()).strip());
                if (current == null) {
                    throw new AssertionError("javap named a file it was not given: " + line);
                }
                references = new TreeSet<>();
                variables = new TreeSet<>();
                services = new TreeSet<>();
                SCANNED.put(current, new ClassScan(references, variables, services));
                continue;
            }
            if (current == null) {
                continue;
            }
            Matcher pool = POOL_CLASS.matcher(line);
            if (pool.find()) {
                String referenced = pool.group(1);
                if (referenced.startsWith("dev/ferry/")) {
                    references.add(referenced);
                }
                Matcher service = SERVICE.matcher(referenced);
                if (service.find()) {
                    services.add(service.group(1));
                }
            }
            Matcher ldc = LDC_STRING.matcher(line);
            if (ldc.find()) {
                variables.add(ldc.group(1));
            }
            Matcher concat = CONCAT_PREFIX.matcher(line);
            if (concat.find()) {
                variables.add(concat.group(1));
            }
        }
        for (String name : todo) {
            if (!SCANNED.containsKey(name)) {
                throw new AssertionError("javap printed nothing for " + name);
            }
        }
        try (var files = Files.list(dir)) {
            for (Path file : files.toList()) {
                Files.delete(file);
            }
            Files.delete(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
