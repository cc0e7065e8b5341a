"""A real HTTP server on 127.0.0.1 speaking OpenAI's chat-completions protocol, for tests and the benchmark.

``JudgeServer(behave)`` starts ``http.server.ThreadingHTTPServer`` on a free loopback port in a
daemon thread. ``behave(request_json, n)`` (n = how many requests this server has seen, 0-based)
returns an ``Action``: a reply with content, an HTTP error with headers, a delay, or a dropped
connection. Every request is recorded (time, body) so tests can assert what the client did.
Loopback only: nothing here can reach another machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Action:
    content: str | None = None  # the assistant message content of a 200 reply
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (slow server)
    drop: bool = False  # close the connection without a response
    raw_body: str | None = None  # a 200 with this body instead of a chat completion (malformed protocol)


def completion_body(content: str, model: str = "judge") -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def verdict_json(overall: float, rationale: str = "scripted", score: int | None = None) -> str:
    s = score if score is not None else max(1, min(5, round(overall)))
    scores = {"accuracy": s, "grammar": s, "informativeness": s, "coherence": s}
    return json.dumps({"scores": scores, "overall": overall, "rationale": rationale})


class JudgeServer:
    def __init__(self, behave: Callable[[dict, int], Action]) -> None:
        self.behave = behave
        self.requests: list[tuple[float, dict]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real inference server

            def log_message(self, *args) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server._lock:
                    n = len(server.requests)
                    server.requests.append((time.monotonic(), body))
                action = server.behave(body, n)
                if action.delay_s:
                    time.sleep(action.delay_s)
                if action.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if action.status != 200:
                    payload = json.dumps({"error": {"message": f"scripted {action.status}", "type": "test"}})
                elif action.raw_body is not None:
                    payload = action.raw_body
                else:
                    payload = json.dumps(completion_body(action.content or "", body.get("model", "judge")))
                data = payload.encode()
                self.send_response(action.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in action.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # listen backlog: http.server's 5 refuses bursts of new connections

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> JudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def user_data(body: dict) -> str:
    """The user message of a judge request (where the example is)."""
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def example_conversation(body: dict) -> list[dict]:
    """The conversation a judge request carries, decoded from between its nonce markers."""
    data = user_data(body)
    start = data.index("\n") + 1
    end = data.rindex("\n")
    return json.loads(data[start:end])["conversation"]


def example_text(body: dict) -> str:
    return "\n".join(t["content"] for t in example_conversation(body))
