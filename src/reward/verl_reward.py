"""verl reward function scoring rollouts with `bootforge reward serve`.

Written by bootforge (`bootforge reward verl-function`, and by `bootforge
export`). The bootcamps' verifiers run in bootforge's sandbox, never in the
trainer's processes. Standard library only.

verl config (per sample, verl's default "naive" reward manager):

    custom_reward_function.path=bootforge_reward_for_verl.py
    custom_reward_function.name=compute_score

or batched (one request per chunk of rollouts, much faster):

    reward_model.reward_manager=batch
    custom_reward_function.path=bootforge_reward_for_verl.py
    custom_reward_function.name=compute_score_batch

Environment:

    BOOTFORGE_REWARD_URLS     service URLs, comma-separated (default
                              http://127.0.0.1:8431); chunks are spread
                              over them, and a failed request moves on to
                              the next one
    BOOTFORGE_REWARD_TOKEN    bearer token, when the service has one
    BOOTFORGE_REWARD_TIMEOUT  seconds per request (default 300)
    BOOTFORGE_REWARD_RETRIES  attempts per chunk (default 5)
    BOOTFORGE_REWARD_CHUNK    rollouts per request (default 1024)

A rollout the service cannot score (unknown data source, a verifier that
raises or times out) gets 0, as InternBootcamp's own reward function gives.
A service that cannot be reached raises after the retries: a silent 0 for
every rollout would train on nothing.
"""

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

_next = [0]
_lock = threading.Lock()


def _urls():
    text = os.environ.get("BOOTFORGE_REWARD_URLS", "http://127.0.0.1:8431")
    urls = [u.strip().rstrip("/") for u in text.split(",") if u.strip()]
    if not urls:
        raise RuntimeError("BOOTFORGE_REWARD_URLS names no service URL")
    return urls


def _int_env(name, default):
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def _ground_truth(value):
    if isinstance(value, (str, dict, list)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    # numpy scalars, tuples: as JSON text, as verl's own loaders would.
    return json.dumps(value, default=str)


def _item(data_source, solution_str, ground_truth):
    return {
        "data_source": str(data_source),
        "solution_str": solution_str if isinstance(solution_str, str) else str(solution_str),
        "ground_truth": _ground_truth(ground_truth),
    }


def _post(items):
    """Scores of `items` from the first service that answers."""
    urls = _urls()
    with _lock:
        start = _next[0]
        _next[0] += 1
    body = json.dumps(items).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    token = os.environ.get("BOOTFORGE_REWARD_TOKEN")
    if token:
        headers["Authorization"] = "Bearer " + token.strip()
    timeout = float(os.environ.get("BOOTFORGE_REWARD_TIMEOUT", "300"))
    attempts = _int_env("BOOTFORGE_REWARD_RETRIES", 5)
    last = None
    for attempt in range(attempts):
        url = urls[(start + attempt) % len(urls)] + "/v1/score"
        try:
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                answers = json.loads(reply.read().decode("utf-8"))
            if not isinstance(answers, list) or len(answers) != len(items):
                raise ValueError("the service answered %r items for %d" % (
                    len(answers) if isinstance(answers, list) else answers, len(items)))
            return [float(a.get("score", 0.0)) if isinstance(a, dict) else 0.0 for a in answers]
        except urllib.error.HTTPError as e:
            detail = e.read()[:2000].decode("utf-8", "replace")
            if e.code in (400, 401, 413):
                # The request itself is wrong: retrying cannot help.
                raise RuntimeError("bootforge reward service %s refused the batch (%d): %s"
                                   % (url, e.code, detail))
            last = "%s: HTTP %d %s" % (url, e.code, detail)
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = "%s: %s" % (url, e)
        time.sleep(min(8.0, 0.25 * 2 ** attempt) * (0.5 + random.random()))
    raise RuntimeError("bootforge reward service unreachable after %d attempts; last error: %s"
                       % (attempts, last))


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """One rollout's reward (verl's NaiveRewardManager calls this)."""
    return _post([_item(data_source, solution_str, ground_truth)])[0]


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, **kwargs):
    """Every rollout's reward, in order (verl's BatchRewardManager calls this)."""
    items = [_item(d, s, g) for d, s, g in zip(data_sources, solution_strs, ground_truths)]
    if len(items) != len(solution_strs) or len(items) != len(data_sources):
        raise ValueError("data_sources, solution_strs and ground_truths differ in length")
    size = _int_env("BOOTFORGE_REWARD_CHUNK", 1024)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    if len(chunks) <= 1:
        return _post(items) if items else []
    with ThreadPoolExecutor(max_workers=min(len(chunks), 4 * len(_urls()))) as pool:
        results = list(pool.map(_post, chunks))
    return [score for chunk in results for score in chunk]
