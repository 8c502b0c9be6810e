package dev.ferry.local;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.AbstractConstruct;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads a CloudFormation/SAM template written in YAML. CloudFormation's short forms ({@code !Ref},
 * {@code !GetAtt}, {@code !Sub}, {@code !If}, ...) become the long forms a JSON template would
 * hold: {@code !Ref X} is {@code {"Ref": "X"}}, {@code !GetAtt A.B} is
 * {@code {"Fn::GetAtt": ["A", "B"]}}, {@code !Sub s} is {@code {"Fn::Sub": s}}, and so on.
 */
final class CloudFormationYaml {

    /** The short-form functions CloudFormation defines, without the {@code Fn::} prefix. */
    private static final List<String> FUNCTIONS = List.of("And", "Base64", "Cidr", "Equals", "FindInMap",
            "ForEach", "GetAZs", "If", "ImportValue", "Join", "Length", "Not", "Or", "Select", "Split", "Sub",
            "ToJsonString", "Transform");

    private CloudFormationYaml() {
    }

    /** The template's top-level mapping; fails, naming the file, when it is not YAML or not a mapping. */
    static Map<String, Object> load(Path template) {
        LoaderOptions options = new LoaderOptions();
        // CloudFormation rejects a template with a key given twice; so do we, rather than keep the last.
        options.setAllowDuplicateKeys(false);
        Yaml yaml = new Yaml(new IntrinsicConstructor(options));
        Object root;
        try (Reader reader = Files.newBufferedReader(template, StandardCharsets.UTF_8)) {
            root = yaml.load(reader);
        } catch (IOException e) {
            throw new TemplateException("cannot read template " + template + ": " + e.getMessage(), e);
        } catch (YAMLException e) {
            throw new TemplateException("template " + template + " is not valid YAML: " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new TemplateException("template " + template + " must be a YAML mapping at the top level");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> result = (Map<String, Object>) map;
        return result;
    }

    /** A safe constructor (plain maps, lists and scalars only) that also knows CloudFormation's tags. */
    private static final class IntrinsicConstructor extends SafeConstructor {

        IntrinsicConstructor(LoaderOptions options) {
            super(options);
            yamlConstructors.put(new Tag("!Ref"), new Intrinsic("Ref"));
            yamlConstructors.put(new Tag("!Condition"), new Intrinsic("Condition"));
            yamlConstructors.put(new Tag("!GetAtt"), new GetAtt());
            for (String function : FUNCTIONS) {
                yamlConstructors.put(new Tag("!" + function), new Intrinsic("Fn::" + function));
            }
        }

        /** {@code !Name argument} as {@code {"key": argument}}, whatever the argument's node kind. */
        private class Intrinsic extends AbstractConstruct {
            private final String key;

            Intrinsic(String key) {
                this.key = key;
            }

            @Override
            public Object construct(Node node) {
                return Map.of(key, argument(node));
            }
        }

        /** {@code !GetAtt Resource.Attribute} (scalar) or {@code !GetAtt [Resource, Attribute]}. */
        private class GetAtt extends AbstractConstruct {
            @Override
            public Object construct(Node node) {
                Object argument = argument(node);
                if (argument instanceof String dotted) {
                    int dot = dotted.indexOf('.');
                    if (dot <= 0 || dot == dotted.length() - 1) {
                        throw new YAMLException("!GetAtt needs Resource.Attribute, but is '" + dotted + "'"
                                + node.getStartMark());
                    }
                    return Map.of("Fn::GetAtt", List.of(dotted.substring(0, dot), dotted.substring(dot + 1)));
                }
                return Map.of("Fn::GetAtt", argument);
            }
        }

        private Object argument(Node node) {
            if (node instanceof ScalarNode scalar) {
                return constructScalar(scalar);
            }
            if (node instanceof SequenceNode sequence) {
                return constructSequence(sequence);
            }
            return constructMapping((MappingNode) node);
        }
    }
}
