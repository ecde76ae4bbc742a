"""Load benchmark: N trainees at once, each playing a whole session against a running app.

    python bench/load.py [--levels 1,4,8,16] [--replies 4] [--scripted] [--home DIR] [--replicas K]
                         [--database-url URL]
    python bench/load.py --smoke         # seconds: --scripted, one trainee, one reply (CI runs this)

Starts `dojo serve` with the embedded models (the customer model and MiniLM, from DOJO_HOME) on a throw-away
database with one account per trainee, then for each level N runs N client processes at once; each logs in
with `gradio_client`, starts a scenario and sends up to `--replies` replies (or until the customer ends the
session). Reported per level: reply round trip (what the trainee waits for), the customer turn and the
scoring as the server timed them (p50 / p95), errors (a request that failed or was lost), sessions whose
stored transcript differs from what their client saw, and the server's peak memory (VmHWM). The baseline is
one trainee alone (N=1): "x N=1" is the p95 round trip against it.

With `--replicas K`, K `dojo serve` processes share the database and every trainee sends each reply to the
next server in turn (reply j of trainee i to server (i + j) mod K): a session continues on whichever server
takes the reply, with no sticky sessions. Peak memory is then the sum over the servers.

Model calls are serialised by a lock per model (two cores gain nothing from parallel generation), and
Gradio's queue runs up to four events at once, so latency grows with N while nothing is dropped.

The customer settings come from the environment, so the same benchmark measures a model server:
`DOJO_CUSTOMER_BACKEND=openai DOJO_OPENAI_BASE_URL=http://127.0.0.1:8000/v1 DOJO_OPENAI_MODEL=smollm2
DOJO_OPENAI_STYLE=completion python bench/load.py` (peak memory is then the app servers'; the model server's
is its own).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PASSWORD = "load-test password"
SCENARIOS = ["late-parcel-chat", "double-charge-chat", "wrong-item-email", "address-change-dm",
             "bot-handoff-damaged", "outage-public-post", "gift-return-email", "cancel-subscription-bot"]
REPLIES = [
    "I'm so sorry about this, that's not the experience we want for you. Let me look into it right now.",
    "Thanks for your patience. Could you confirm the order number so I can check it?",
    "I've sorted it on our side: the refund is issued today and you'll see it within 3 working days.",
    "I'll follow up by email tomorrow morning to make sure it has arrived. Is there anything else?",
    "Thank you for bearing with us. I've added a note so nobody asks you for this again.",
]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)]


def trainee(args: tuple) -> dict:
    """One trainee's whole session, in its own process."""
    urls, name, scenario, replies, index = args
    from gradio_client import Client

    out = {"name": name, "round_trip_ms": [], "customer_ms": [], "scoring_ms": [], "errors": [], "run_id": None,
           "seen": []}
    try:
        clients = [Client(url, auth=(name, PASSWORD), verbose=False) for url in urls]
        started = clients[index % len(clients)].predict(scenario, api_name="/start")
        run_id, transcript = started[0], started[3]
        out["run_id"] = run_id
        out["seen"] = [m["text"] for m in transcript]
        for j, text in enumerate(REPLIES[:replies]):
            client = clients[(index + j) % len(clients)]  # the next server takes the next reply
            t0 = time.perf_counter()
            _view, transcript, _feedback, card, _reply = client.predict(run_id, text, 0, api_name="/reply")
            out["round_trip_ms"].append((time.perf_counter() - t0) * 1000)
            out["scoring_ms"].append(transcript[-2].get("scoring_ms", float("nan")))
            out["customer_ms"].append(transcript[-1].get("latency_ms", float("nan")))
            out["seen"] = [m["text"] for m in transcript]  # what the trainee has seen so far
            if card:  # the scorecard: the session has ended
                break
    except Exception as exc:  # every failure is counted and reported; none stops the benchmark
        out["errors"].append(f"{type(exc).__name__}: {str(exc)[:200]}")
    return out


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stored(database_url: str, run_id: str) -> list[str]:
    from sqlalchemy import select

    from dojo.store import Store, Turn

    db = Store(database_url)
    with db.session() as s:
        texts = [t.text for t in s.scalars(select(Turn).where(Turn.session_id == run_id).order_by(Turn.index))]
    db.engine.dispose()
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", help="numbers of trainees at once (default 1,4,8,16)")
    parser.add_argument("--replies", type=int, help="replies per session at most (default 4)")
    parser.add_argument("--scripted", action="store_true",
                        help="scripted customer and hashing embedder (measures the app, not the models)")
    parser.add_argument("--home", type=Path,
                        help="with --scripted: a data directory that already holds a scorer trained with the "
                             "hashing embedder (default: a new one, trained first)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="dojo serve processes on the one database; replies go to each in turn (default 1)")
    parser.add_argument("--database-url", default="",
                        help="the database the servers share (default: a throw-away SQLite file; use a "
                             "PostgreSQL URL to measure a cohort deployment)")
    parser.add_argument("--smoke", action="store_true",
                        help="check that the benchmark runs, in seconds: --scripted, one trainee, one reply "
                             "(unless --levels or --replies say otherwise)")
    args = parser.parse_args()
    if args.smoke:
        args.scripted, args.levels, args.replies = True, args.levels or "1", args.replies or 1
    args.levels, args.replies = args.levels or "1,4,8,16", args.replies or 4
    levels = [int(n) for n in args.levels.split(",")]

    from dojo.store import Store
    from simulator.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="dojo-load-"))
    database_url = args.database_url or f"sqlite:///{work / 'load.db'}"
    env = {**os.environ, "DATABASE_URL": database_url, "HF_HUB_OFFLINE": "1", "DOJO_LOG_LEVEL": "WARNING"}
    if args.scripted:
        home = args.home or work / "home"
        env.update(DOJO_HOME=str(home), DOJO_CUSTOMER_BACKEND="scripted", DOJO_EMBEDDER="hashing")
        subprocess.run([sys.executable, "-m", "dojo", "train", "--if-missing"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
    db = Store(database_url)
    db.upgrade()
    for i in range(max(levels)):
        if db.find_user(f"load-{i:02d}") is None:
            db.add_user(f"load-{i:02d}", "trainee", PASSWORD)
    db.engine.dispose()

    servers, urls = [], []
    for _ in range(max(1, args.replicas)):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        servers.append(subprocess.Popen([sys.executable, "-m", "dojo", "serve", "--port", str(port)], env=env,
                                        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        urls.append(f"http://127.0.0.1:{port}/")
    for server, url in zip(servers, urls, strict=True):
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None:
                print(server.stderr.read().decode()[-2000:], file=sys.stderr)
                for other in servers:
                    other.kill()
                return 2
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    for other in servers:
                        other.kill()
                    return 2
                time.sleep(0.5)

    settings = Settings.from_env(env)
    customer = ("scripted" if args.scripted else
                f"model server {settings.openai_base_url} ({settings.openai_model}, {settings.openai_style})"
                if settings.customer_backend == "openai" else "embedded SmolLM2-135M")
    print(f"# support-dojo load benchmark · {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()} · customer: {customer} · "
          f"embeddings: {'hashing' if args.scripted else settings.embedder} · up to {args.replies} replies per "
          f"session · {len(servers)} server(s) on {database_url.split(':', 1)[0]}")
    header = (f"{'N':>3} {'sessions':>8} {'replies':>7} {'errors':>6} {'mismatch':>8} {'round trip p50/p95 ms':>22} "
              f"{'customer p50/p95 ms':>20} {'scoring p50/p95 ms':>19} {'x N=1':>6} {'peak MB':>8} {'wall s':>7}")
    print(header)
    baseline = None
    ctx = mp.get_context("spawn")
    try:
        for n in levels:
            jobs = [(urls, f"load-{i:02d}", SCENARIOS[i % len(SCENARIOS)], args.replies, i) for i in range(n)]
            t0 = time.perf_counter()
            with ctx.Pool(n) as pool:
                results = pool.map(trainee, jobs)
            wall = time.perf_counter() - t0
            trips = [x for r in results for x in r["round_trip_ms"]]
            customer = [x for r in results for x in r["customer_ms"] if x == x]
            scoring = [x for r in results for x in r["scoring_ms"] if x == x]
            errors = sum(len(r["errors"]) for r in results)
            mismatched = sum(1 for r in results if r["run_id"] and stored(database_url, r["run_id"]) != r["seen"])
            p95 = percentile(trips, 0.95)
            baseline = baseline or p95
            print(f"{n:>3} {n:>8} {len(trips):>7} {errors:>6} {mismatched:>8} "
                  f"{percentile(trips, 0.5):>10.0f} / {p95:>9.0f} {percentile(customer, 0.5):>9.0f} / "
                  f"{percentile(customer, 0.95):>8.0f} {percentile(scoring, 0.5):>8.1f} / "
                  f"{percentile(scoring, 0.95):>8.1f} {p95 / baseline:>6.1f} "
                  f"{sum(peak_rss_mb(server.pid) for server in servers):>8.0f} "
                  f"{wall:>7.1f}", flush=True)
            for r in results:
                for e in r["errors"]:
                    print(f"    error ({r['name']}): {e}")
        print("mismatch: sessions whose stored transcript differs from what their client saw; "
              "x N=1: p95 round trip against one trainee alone.")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
