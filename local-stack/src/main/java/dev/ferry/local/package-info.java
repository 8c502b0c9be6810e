/**
 * Ferry's whole pipeline on one machine, in one JVM, without Docker.
 *
 * <p>{@link dev.ferry.local.LocalStack} starts {@link dev.ferry.local.EmbeddedSqs} (ElasticMQ) and
 * {@link dev.ferry.local.EmbeddedDynamoDb} (DynamoDB Local), creates the queues and table that
 * {@code infra/template.yaml} declares ({@link dev.ferry.local.SamTemplate},
 * {@link dev.ferry.local.LocalResources}), serves the template's API routes with the same handler
 * classes Lambda runs ({@link dev.ferry.local.ApiServer}) and starts real workers, which run the
 * {@code sample} job type as a process ({@link dev.ferry.local.SampleJob}).
 * {@link dev.ferry.local.LocalStackMain} is the command line ({@code scripts/run-local.sh}).
 */
package dev.ferry.local;
