# A SageMaker inference container for the tests, standard library only: GET /ping, POST
# /invocations on the port SageMaker names. Its behaviour is chosen by each request's body.
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
loaded = threading.Event()


def load_model():
    print("loading the model", flush=True)
    if os.environ.get("SETUP_FAILS"):
        print("cannot load the model: out of GPU memory", file=sys.stderr, flush=True)
        os._exit(1)
    time.sleep(float(os.environ.get("SETUP_SECONDS", "0")))
    loaded.set()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/ping":
            self.answer(200 if loaded.is_set() else 503, "text/plain", b"")
        else:
            self.answer(404, "text/plain", b"not found")

    def do_POST(self):
        if self.path != "/invocations":
            return self.answer(404, "text/plain", b"not found")
        job = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        what = job.get("do", "echo")
        print(f"invoked with {what}", file=sys.stderr, flush=True)
        if what == "fail":
            return self.answer(500, "text/plain", b"model error: CUDA error: an illegal memory access")
        if what == "bad":
            return self.answer(400, "application/json", json.dumps({"message": "bad prompt"}).encode())
        if what == "image":
            return self.answer(200, "image/png", PNG)
        if what == "sleep":
            time.sleep(job["seconds"])
        if what == "die":
            os._exit(3)
        body = {"pid": os.getpid(), "input": job, "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "port": os.environ.get("PORT"), "bindPort": os.environ.get("SAGEMAKER_BIND_TO_PORT"),
                "slot": os.environ.get("FERRY_SLOT")}
        if what == "datauri":
            body["mask"] = "data:image/png;base64," + base64.b64encode(PNG).decode()
        self.answer(200, "application/json", json.dumps(body).encode())

    def answer(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
threading.Thread(target=load_model, daemon=True).start()
server.serve_forever()
