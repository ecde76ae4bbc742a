"""The llama.cpp customer engine on the packaged SmolLM2 GGUF: what it returns, alone and batched."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from simulator import llamacpp
from simulator.backends import BackendError, Generation
from simulator.llamacpp import LlamaCppBackend, _head_of
from simulator.model_files import verify_engine_gguf

HEAD = ("Each customer message below is rewritten in the customer's own words.\n\n"
        "Original: My order hasn't arrived.\nRewritten (angry): My order STILL hasn't arrived.\n\n")


def request(line: str, prefix: str, seed: int = 1, n: int = 3, head: str = HEAD) -> Generation:
    return Generation(messages=(), reference=line, n=n, max_new_tokens=20, temperature=0.8, seed=seed,
                      prompt=f"{head}Original: {line}\nRewritten (calm): ", prefix=prefix)


def test_the_head_is_everything_before_the_last_blank_line():
    assert _head_of(HEAD + "Original: x\nRewritten (calm): ") == HEAD
    assert _head_of("no blank line here") == ""


@pytest.fixture(scope="module")
def engine(real_services):
    if not llamacpp.available():
        pytest.fail("llama-cpp-python is not installed: `make setup` installs it")
    backend = LlamaCppBackend(verify_engine_gguf(real_services.settings), threads=2)
    yield backend
    backend.close()


@pytest.mark.real_models
def test_candidates_start_with_the_forced_words_and_are_one_line_each(engine):
    texts = engine.generate(request("The parcel was due on Monday and it is now Thursday.", "The parcel"))
    assert len(texts) == 3
    for text in texts:
        assert text.startswith("The parcel") and "\n" not in text and len(text) > len("The parcel")


@pytest.mark.real_models
def test_a_request_alone_is_reproducible_from_its_seed(engine):
    r = request("I was charged twice for one order.", "I was")
    assert engine.generate(r) == engine.generate(r)
    assert engine.generate(replace(r, seed=2)) != engine.generate(r)


@pytest.mark.real_models
def test_requests_of_several_sessions_run_as_one_batch_and_each_gets_its_own(engine):
    requests = [request(f"My order number {n} has not arrived.", "My order", seed=n, n=2) for n in range(6)]
    results = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def ask(i):
        start.wait()
        results[i] = engine.generate(requests[i])

    before = len(engine.batches)
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(len(r) == 2 and all(t.startswith("My order") for t in r) for r in results)
    assert max(list(engine.batches)[before:]) > 1  # some requests shared a pass
    assert sum(list(engine.batches)[before:]) == len(requests)


@pytest.mark.real_models
def test_the_head_is_computed_once_and_reused(engine):
    engine.generate(request("First line to rewrite.", "First"))
    heads = dict(engine._heads)
    engine.generate(request("Second line to rewrite.", "Second"))
    assert engine._heads == heads and HEAD in heads


@pytest.mark.real_models
def test_more_heads_than_the_cache_holds_still_give_every_request_its_candidates(engine):
    requests = [request("The app logs me out.", "The app", seed=k, n=2, head=f"Prompt head number {k}.\n\n")
                for k in range(llamacpp.HEADS + 2)]
    results = engine._generate_batch(requests)
    assert [len(r) for r in results] == [2] * len(requests)
    assert len(engine._heads) <= llamacpp.HEADS


@pytest.mark.real_models
def test_more_candidates_than_one_pass_holds_run_in_several_passes(engine):
    requests = [request("I need a refund today.", "I need", seed=k, n=5) for k in range(20)]  # 100 sequences
    results = engine._generate_batch(requests)
    assert [len(r) for r in results] == [5] * 20 and all(t.startswith("I need") for r in results for t in r)


@pytest.mark.real_models
def test_a_chat_request_is_refused_in_one_line(engine):
    with pytest.raises(BackendError, match="completion prompts only"):
        engine.generate(Generation(messages=({"role": "user", "content": "hi"},), reference="hi"))


@pytest.mark.real_models
def test_pull_remakes_the_engine_weights_from_the_downloaded_gguf_and_then_only_verifies(real_services, tmp_path):
    import shutil

    from simulator import model_files
    from simulator.settings import Settings

    real, mine = real_services.settings, Settings(home=tmp_path)
    model_files.customer_gguf(mine).parent.mkdir(parents=True)
    shutil.copy(model_files.customer_gguf(real), model_files.customer_gguf(mine))
    shutil.copytree(model_files.customer_dir(real), model_files.customer_dir(mine))  # no bf16 conversion here
    said: list[str] = []
    model_files.pull_customer(mine, log=said.append)
    assert any("requantizing" in line for line in said)
    made = model_files.verify_engine_gguf(mine)
    assert model_files.sha256_of(made) == model_files.sha256_of(model_files.engine_gguf(real))  # deterministic
    said.clear()
    model_files.pull_customer(mine, log=said.append)
    assert not any("requantizing" in line for line in said) and "present and verified" in said[-1]
    made.with_suffix(".json").write_text('{"sha256": "0", "gguf_sha256": "1"}')
    with pytest.raises(model_files.ModelFileError, match="was made from another GGUF: run `dojo models pull`"):
        model_files.verify_engine_gguf(mine)


@pytest.mark.real_models
def test_long_prompts_are_split_over_passes_and_an_impossible_request_is_one_line(engine, monkeypatch):
    long_line = "My parcel was meant to arrive on Monday and it still has not come. " * 25  # ~400 tokens
    requests = [request(long_line, "My parcel", seed=k, n=1) for k in range(16)]
    passes = []
    real_pass = engine._pass
    monkeypatch.setattr(engine, "_pass", lambda chunk: passes.append(len(chunk)) or real_pass(chunk))
    results = engine._generate_batch(requests)
    assert [len(r) for r in results] == [1] * 16
    assert len(passes) >= 2 and sum(passes) == 16
    with pytest.raises(BackendError, match="lower DOJO_CANDIDATES or DOJO_MAX_NEW_TOKENS"):
        engine.generate(request("Where is my order?", "Where", n=llamacpp.N_SEQ_MAX))
