"""Measured throughput per model on this machine, kept in the cache folder, and the estimates made from it.

One small json (<cache_dir>/throughput.json): {kind: {model spec: units per second}}, each value a
running blend of the last measurements, written whole through backend.store.atomic. Before the
first measurement of a model an estimate uses a conservative default and says so.
"""

from __future__ import annotations

import dataclasses
import json
import threading

from backend.store import atomic
from backend.store.paths import cache_dir

FILE = "throughput.json"
CONFIRM_ABOVE_S = 60.0  # work expected to take longer asks before it starts
BLEND = 0.5  # weight of a new measurement: the machine's load changes, so recent runs count most
# Conservative first guesses (slow end of a busy 2-core CPU), per kind, in units per second:
DEFAULTS = {
    "score": 100.0,  # characters per second per model (Gemma-class on a loaded CPU, warm)
    "sample": 20.0,  # generated tokens per second per model, all rows of a call together
    "bb_embed": 50.0,  # words embedded in context per second
    "bb_step": 20.0,  # sparse-autoencoder training steps per second
}
_lock = threading.Lock()


def _path():
    return cache_dir() / FILE


def _read() -> dict:
    try:
        value = json.loads(_path().read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}  # absent or damaged: measure again


def rate(kind: str, model: str) -> float | None:
    """Measured units per second of model for kind, or None when never measured here."""
    value = _read().get(kind, {}).get(model)
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def record(kind: str, model: str, units: float, seconds: float) -> None:
    """Blend one measurement (units done in seconds) into the stored rate; tiny samples are ignored."""
    if units <= 0 or seconds < 0.5:
        return
    with _lock:  # several sessions' jobs may finish together
        data = _read()
        old = data.get(kind, {}).get(model)
        new = units / seconds
        blended = new if not isinstance(old, (int, float)) or old <= 0 else (1 - BLEND) * old + BLEND * new
        data.setdefault(kind, {})[model] = round(blended, 3)
        atomic.write_json(_path(), data, indent=1)


@dataclasses.dataclass
class Estimate:
    seconds: float
    measured: bool  # False: at least one part used a default guess

    @property
    def needs_confirmation(self) -> bool:
        return self.seconds > CONFIRM_ABOVE_S

    def merge(self, other: Estimate) -> Estimate:
        return Estimate(self.seconds + other.seconds, self.measured and other.measured)


def estimate(kind: str, model: str, units: float) -> Estimate:
    """Seconds for units of kind on model: from its measured rate, else the default."""
    measured = rate(kind, model)
    return Estimate(units / (measured or DEFAULTS[kind]), measured is not None)


def scoring_estimate(models: list[str], n_chars: int) -> Estimate:
    """Both models read every character (texts already in the score cache cost nothing, so this is at most)."""
    total = Estimate(0.0, True)
    for model in models:
        total = total.merge(estimate("score", model, n_chars))
    return total
