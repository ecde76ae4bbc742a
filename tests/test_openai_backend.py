"""The OpenAI-compatible backend against a small local fake server (no network, no model)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dojo.services import Services
from simulator.backends import BackendError, Generation, OpenAIBackend
from simulator.settings import Settings
from tests.conftest import free_port

REQUEST = Generation(messages=[{"role": "user", "content": "Rewrite: my parcel is late."}],
                     reference="My parcel is late.", n=3, max_new_tokens=40, seed=5)


class FakeServer:
    """Answers /v1/chat/completions and /v1/completions like vLLM or llama.cpp server; records what it was sent."""

    def __init__(self, reply=None, status: int = 200, max_n: int = 8):
        self.requests: list[dict] = []
        self.reply = reply or (lambda body, i: f"Honestly, my parcel is late ({i}).")
        self.status, self.max_n = status, max_n
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if server.status != 200:
                    self.send_response(server.status)
                    self.end_headers()
                    self.wfile.write(b"model overloaded")
                    return
                n = min(body.get("n", 1), server.max_n)
                if self.path.endswith("/chat/completions"):
                    choices = [{"index": i, "message": {"role": "assistant", "content": server.reply(body, i)}}
                               for i in range(n)]
                else:  # /v1/completions: a continuation of the prompt
                    choices = [{"index": i, "text": server.reply(body, i)} for i in range(n)]
                data = json.dumps({"choices": choices}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def test_asks_for_n_choices_with_the_model_key_and_messages(server):
    out = OpenAIBackend(server.url, "qwen-7b", api_key="sk-test").generate(REQUEST)
    assert out == [f"Honestly, my parcel is late ({i})." for i in range(3)]
    [sent] = server.requests
    assert sent["path"] == "/v1/chat/completions" and sent["model"] == "qwen-7b" and sent["n"] == 3
    assert sent["auth"] == "Bearer sk-test" and sent["messages"] == list(REQUEST.messages)


def test_servers_that_ignore_n_are_asked_again():
    s = FakeServer(max_n=1)
    try:
        assert len(OpenAIBackend(s.url, "m").generate(REQUEST)) == 3
        assert len(s.requests) == 3
    finally:
        s.close()


def test_http_error_is_one_line():
    s = FakeServer(status=503)
    try:
        with pytest.raises(BackendError, match=r"HTTP 503 model overloaded$"):
            OpenAIBackend(s.url, "m").generate(REQUEST)
    finally:
        s.close()


def test_unreachable_endpoint_is_one_line():
    with pytest.raises(BackendError, match="unreachable"):
        OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=2).generate(REQUEST)


def test_missing_base_url_names_the_setting():
    with pytest.raises(BackendError, match="DOJO_OPENAI_BASE_URL"):
        OpenAIBackend("", "m")


def test_a_whole_practice_turn_through_the_openai_backend(fast_services):
    server = FakeServer(reply=lambda body, i: "Hmm. It's ORD-48213. And I emailed on Friday, no answer at all.")
    try:
        settings = Settings(home=fast_services.settings.home, customer_backend="openai", seed=3,
                            openai_base_url=server.url, openai_model="served-model")
        services = Services(settings, embedder_kind="hashing")
        run = services.start_run("late-parcel-chat")
        result = services.practice.reply(run, "So sorry! Could you give me the order number?")
        assert result.customer.beat == "gives_order"
        assert result.customer.guard == "model"
        assert "and i emailed on friday, no answer" in result.customer.text.lower()  # the persona's style may apply
        # only the scenario's line reaches the model, never the trainee's text
        assert all("Could you give me" not in json.dumps(r["messages"]) for r in server.requests)
    finally:
        server.close()


def test_the_session_goes_on_when_the_endpoint_drops(fast_services):
    server = FakeServer()
    settings = Settings(home=fast_services.settings.home, customer_backend="openai", seed=3,
                        openai_base_url=server.url, openai_model="m", openai_timeout_s=2)
    services = Services(settings, embedder_kind="hashing")
    run = services.start_run("late-parcel-chat")
    server.close()
    result = services.practice.reply(run, "So sorry! Could you give me the order number?")
    assert result.customer.guard == "fallback:backend_unavailable" and "ORD-48213" in result.customer.text
    assert not run.session.ended


def test_a_customer_model_that_is_neither_a_folder_nor_cached_is_one_setting_error(fast_services):
    from simulator.settings import SettingError

    settings = Settings(home=fast_services.settings.home, customer_model="nobody/no-such-model")
    with pytest.raises(SettingError, match="DOJO_CUSTOMER_MODEL='nobody/no-such-model': not a model directory"):
        Services(settings, embedder_kind="hashing").backend  # noqa: B018 (the property builds it)


def test_completion_style_continues_the_few_shot_prompt_after_the_forced_start():
    s = FakeServer(reply=lambda body, i: f" is late, day {i}.\nCustomer: and more")
    try:
        request = Generation(messages=REQUEST.messages, reference=REQUEST.reference, n=2, max_new_tokens=20,
                             seed=5, prompt="Rewrite as the customer.\nCustomer:", prefix=" My parcel")
        out = OpenAIBackend(s.url, "smollm2", style="completion").generate(request)
        assert out == [" My parcel is late, day 0.", " My parcel is late, day 1."]  # one line, the start kept
        [sent] = s.requests
        assert sent["path"] == "/v1/completions" and sent["prompt"] == "Rewrite as the customer.\nCustomer: My parcel"
        assert sent["stop"] == ["\n"] and sent["n"] == 2 and "messages" not in sent
        # a request without a few-shot prompt still goes to the chat endpoint
        OpenAIBackend(s.url, "smollm2", style="completion").generate(REQUEST)
        assert s.requests[-1]["path"] == "/v1/chat/completions"
    finally:
        s.close()
    with pytest.raises(BackendError, match="DOJO_OPENAI_STYLE='poem': use chat or completion"):
        OpenAIBackend("http://x/v1", "m", style="poem")
