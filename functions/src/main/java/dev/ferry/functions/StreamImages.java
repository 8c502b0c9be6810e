package dev.ferry.functions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * A DynamoDB stream record's image as Lambda delivers it (the events library's
 * {@code AttributeValue}) turned into the SDK's, which the job table's schema reads.
 */
final class StreamImages {

    private StreamImages() {
    }

    /** The image in the SDK's types; empty for none. */
    static Map<String, AttributeValue> of(
            Map<String, com.amazonaws.services.lambda.runtime.events.models.dynamodb.AttributeValue> image) {
        Map<String, AttributeValue> converted = new LinkedHashMap<>();
        if (image != null) {
            image.forEach((name, value) -> converted.put(name, of(value)));
        }
        return converted;
    }

    static AttributeValue of(com.amazonaws.services.lambda.runtime.events.models.dynamodb.AttributeValue value) {
        if (value.getS() != null) {
            return AttributeValue.fromS(value.getS());
        }
        if (value.getN() != null) {
            return AttributeValue.fromN(value.getN());
        }
        if (value.getB() != null) {
            return AttributeValue.fromB(SdkBytes.fromByteBuffer(value.getB().duplicate()));
        }
        if (value.getBOOL() != null) {
            return AttributeValue.fromBool(value.getBOOL());
        }
        if (value.getSS() != null) {
            return AttributeValue.fromSs(value.getSS());
        }
        if (value.getNS() != null) {
            return AttributeValue.fromNs(value.getNS());
        }
        if (value.getBS() != null) {
            return AttributeValue.fromBs(value.getBS().stream().map(b -> SdkBytes.fromByteBuffer(b.duplicate())).toList());
        }
        if (value.getM() != null) {
            return AttributeValue.fromM(of(value.getM()));
        }
        if (value.getL() != null) {
            List<AttributeValue> list = new ArrayList<>();
            value.getL().forEach(item -> list.add(of(item)));
            return AttributeValue.fromL(list);
        }
        return AttributeValue.fromNul(true);
    }
}
