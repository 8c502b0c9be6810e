"""Ferry's warm-handler protocol for Python: load your model once, then `serve(handler)`.

A warm handler is one long-lived process per GPU slot. Ferry starts it with the slot's
CUDA_VISIBLE_DEVICES, waits until it is ready (this module says so once your module-level setup,
such as loading the model, is done), then sends it one job at a time. Example (the whole file):

    import ferry_handler
    model = load_my_model()                 # once per process, on this slot's GPU

    def handler(job):
        for step in range(20):
            ...                             # the work
            job.progress(step / 20, f"step {step} of 20")
        image.save(job.output_path("image.png"))   # files in job.output_dir become the job's files
        return {"seed": job.input.get("seed", 0)}  # any JSON value: the job's result

    ferry_handler.serve(handler)

`print()` and anything else written to stdout or stderr while a job runs goes to that job's log.
Raise `ferry_handler.NoRetry("why")` for a failure another attempt would repeat (bad input): the
job fails at once. Any other exception fails this attempt, and Ferry retries with back-off.

Standard library only. The protocol (JSON lines) is in Ferry's README, "Warm handlers".
"""
import io
import json
import os
import sys
import threading
import traceback

__all__ = ["Job", "NoRetry", "serve"]


class NoRetry(Exception):
    """A failure the same attempt would repeat (bad input): the job fails without another try."""


class Job:
    """One job: its id, type, attempt (from 1), input (parsed JSON) and output directory."""

    def __init__(self, request, send):
        self.id = request["id"]
        self.job_id = request.get("jobId")
        self.type = request.get("type")
        self.attempt = request.get("attempt")
        self.input = request.get("input")
        self.output_dir = request.get("outputDir")
        self._send = send

    def progress(self, fraction, message=None):
        """Reports progress: a fraction from 0 to 1 and a short message. Call as often as you like."""
        update = {"id": self.id, "progress": float(fraction)}
        if message is not None:
            update["message"] = str(message)
        self._send(update)

    def output_path(self, name):
        """Where to write a file called `name` that becomes one of the job's files."""
        if not self.output_dir:
            raise RuntimeError("this job has no output directory")
        os.makedirs(self.output_dir, exist_ok=True)
        return os.path.join(self.output_dir, os.path.basename(name))


def serve(handler):
    """Says the process is ready, then runs `handler(job)` for each job Ferry sends, until stdin ends."""
    sys.stdout.flush()  # what was printed during setup goes out before fd 1 becomes the protocol's
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # stray prints, and C libraries writing to fd 1, go to the job's log, not the protocol
    sys.stdout = sys.stderr
    lock = threading.Lock()  # job.progress may be called from the handler's own threads

    def send(message):
        line = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
        with lock:
            protocol.write(line + "\n")
            protocol.flush()

    def end_log(job):
        # The job's log lines go out before its answer, then the mark that says they have: the worker
        # reads stderr and stdout on two threads, and waits for the mark rather than for a quiet pipe.
        sys.stderr.flush()
        os.write(2, ("\x1eferry-log-end %s\n" % job.id).encode("utf-8"))

    send({"ready": True, "logEnd": True})
    requests = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")  # whatever the locale says
    for line in requests:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        job = Job(request, send)
        try:
            result = handler(job)
        except NoRetry as e:
            end_log(job)
            send({"id": job.id, "error": str(e) or type(e).__name__, "retry": False})
        except Exception as e:  # noqa: BLE001 - any failure of the handler is the job's failure
            traceback.print_exc()
            end_log(job)
            send({"id": job.id, "error": "%s: %s" % (type(e).__name__, e), "retry": True})
        else:
            end_log(job)
            try:
                send({"id": job.id, "result": {} if result is None else result})
            except (TypeError, ValueError) as e:  # not JSON: NaN, a set, an object; the same every time
                send({"id": job.id, "error": "the result is not JSON: %s" % e, "retry": False})


if __name__ == "__main__":
    sys.exit("ferry_handler is a module: import it in your handler and call ferry_handler.serve(handler)")
