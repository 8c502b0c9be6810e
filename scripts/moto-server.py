"""moto's server mode (moto_server), with DynamoDB's requests handled one at a time.

moto's server is threaded, and its DynamoDB checks a condition and writes the item without a lock:
two concurrent conditional writes can both pass one condition. DynamoDB never lets that happen, and
Ferry's claim, fence and exactly-once rest on it (BackendContractIT's
concurrentConditionalWrites_underOneCondition_exactlyOneWins fails on plain moto_server). One lock
around each DynamoDB request restores the guarantee; every other service (SQS's long polls among
them) is served as moto_server serves it. Same arguments as moto_server.
"""
import sys
import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_DYNAMODB = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _one_dynamodb_request_at_a_time(self, environ, start_response):
    # DynamoDB's JSON protocol names the operation in X-Amz-Target: DynamoDB_20120810.UpdateItem.
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _DYNAMODB:
            # moto builds the whole response here, so the write is done before the lock is let go.
            return _dispatch(self, environ, start_response)
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _one_dynamodb_request_at_a_time

if __name__ == "__main__":
    server.main(sys.argv[1:])
