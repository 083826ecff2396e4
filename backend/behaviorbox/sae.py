"""BatchTopK sparse autoencoder (Bussmann et al. 2024) for BehaviorBox.

Input: performance-aware word embeddings [n_words, d] (see
analysis/behaviorbox.py). Output: a sparse code [n_words, dict_size]; each
dimension is a candidate "feature" whose top words are then compared.

- Training keeps the k·batch largest activations over the whole batch (so a
  hard word may use more than k features and an easy one fewer); inference
  has no batch, so it keeps activations above a threshold estimated after
  training as the mean, over sampled batches, of the smallest activation
  that BatchTopK kept.
- Inputs are scaled by one scalar so that the centred data has mean squared
  norm d; losses and activations are in these scaled units (loss = MSE per
  element, about the fraction of variance left unexplained). The scale is a
  buffer of the model, so encode() takes raw inputs.
- Decoder rows have unit norm (renormalised after every step, with the
  gradient's radial part removed first) so activations carry the magnitude.
- Dead features (no activation for `dead_steps` steps) are re-initialised
  towards the residual of high-loss inputs of the current batch.
- Every random draw comes from one seeded torch.Generator on the CPU, so a
  seed gives the same weights on any device; the global RNG is seeded inside
  a fork and left untouched for the caller.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from analysis.behaviorbox_select import default_steps  # the one rule; BehaviorBox settings resolve with it too
from backend.store import atomic

Progress = Callable[[int, int, float], None]  # (steps done, total steps, loss)

WEIGHTS_FILE = "sae.safetensors"
CONFIG_FILE = "sae.json"


@dataclasses.dataclass(frozen=True)
class SAEConfig:
    input_dim: int
    dict_size: int
    k: int  # mean active features per word (k·batch per batch in training)
    lr: float = 1e-3  # the paper's 1e-4 needs far more steps than a dashboard can wait
    batch_size: int = 256
    steps: int = 2000
    seed: int = 0
    dead_steps: int = 200  # steps without any activation before a feature is re-initialised
    resample_until: float = 0.8  # no re-init in the last 20% so new features can settle
    format_version: int = 1


class SAEModel(nn.Module):
    def __init__(self, cfg: SAEConfig):
        super().__init__()
        self.cfg = cfg
        d, f = cfg.input_dim, cfg.dict_size
        self.W_enc = nn.Parameter(torch.zeros(d, f))
        self.b_enc = nn.Parameter(torch.zeros(f))
        self.W_dec = nn.Parameter(torch.zeros(f, d))
        self.b_dec = nn.Parameter(torch.zeros(d))
        self.register_buffer("threshold", torch.zeros(()))  # scaled units
        self.register_buffer("input_scale", torch.ones(()))

    def pre_acts(self, xs: torch.Tensor) -> torch.Tensor:
        """Scaled inputs [b, d] -> non-negative pre-activations [b, f]."""
        return torch.relu((xs - self.b_dec) @ self.W_enc + self.b_enc)

    def batch_topk(self, pre: torch.Tensor) -> torch.Tensor:
        """Keep the k·b largest entries of [b, f] over the whole batch."""
        flat = pre.flatten()
        kb = min(self.cfg.k * pre.shape[0], flat.numel())
        vals, idx = flat.topk(kb, sorted=False)
        return torch.zeros_like(flat).scatter(0, idx, vals).view_as(pre)

    def encode_scaled(self, xs: torch.Tensor) -> torch.Tensor:
        """Inference code: activations above the learned threshold."""
        pre = self.pre_acts(xs)
        return pre * (pre > self.threshold)

    def decode(self, acts: torch.Tensor) -> torch.Tensor:
        return acts @ self.W_dec + self.b_dec


def _device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def _init(model: SAEModel, data: torch.Tensor, g: torch.Generator) -> None:
    cfg = model.cfg
    mean = data.mean(0)
    sq = (data - mean).pow(2).sum(1).mean().item()
    scale = math.sqrt(cfg.input_dim / sq) if sq > 0 else 1.0
    model.input_scale.fill_(scale)
    model.b_dec.copy_(mean * scale)
    w = torch.randn(cfg.dict_size, cfg.input_dim, generator=g)
    w = w / w.norm(dim=1, keepdim=True)
    model.W_dec.copy_(w)
    model.W_enc.copy_(w.T)  # tied start: each feature first reads what it writes


@torch.no_grad()
def _renorm_decoder(model: SAEModel) -> None:
    model.W_dec.div_(model.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-12))


@torch.no_grad()
def _drop_radial_grad(model: SAEModel) -> None:
    # The norm is reset after the step anyway; removing the radial part of the
    # gradient keeps Adam's moments from chasing a direction that is undone.
    w, gr = model.W_dec, model.W_dec.grad
    gr -= (gr * w).sum(1, keepdim=True) * w


@torch.no_grad()
def _resample(model, opt, xs, recon, dead_idx, g) -> int:
    """Point dead features at what high-loss inputs still miss."""
    resid = xs - recon
    per_sample = resid.pow(2).sum(1).double().cpu()
    n = min(len(dead_idx), int((per_sample > 0).sum()))
    if n == 0:
        return 0
    dead_idx = dead_idx[:n]
    # Sample inputs with probability ∝ squared error (Anthropic's resampling).
    chosen = torch.multinomial(per_sample, n, replacement=False, generator=g)
    dirs = resid[chosen.to(xs.device)]
    dirs = dirs / dirs.norm(dim=1, keepdim=True).clamp_min(1e-12)
    alive = torch.ones(model.cfg.dict_size, dtype=torch.bool, device=xs.device)
    alive[dead_idx] = False
    enc_norm = model.W_enc[:, alive].norm(dim=0).mean() if alive.any() else 1.0
    model.W_dec[dead_idx] = dirs
    model.W_enc[:, dead_idx] = dirs.T * enc_norm
    model.b_enc[dead_idx] = 0.0
    # Fresh Adam moments for the new directions: the old ones belong to a dead feature.
    for p, sl in ((model.W_dec, (dead_idx,)), (model.W_enc, (slice(None), dead_idx)), (model.b_enc, (dead_idx,))):
        for key in ("exp_avg", "exp_avg_sq"):
            if key in opt.state.get(p, {}):
                opt.state[p][key][sl] = 0.0
    return n


THRESHOLD_BATCHES = 100  # enough for a stable mean; a full pass over 100k words costs minutes on CPU


@torch.no_grad()
def _estimate_threshold(model: SAEModel, data: torch.Tensor, g: torch.Generator) -> float:
    """Mean, over up to THRESHOLD_BATCHES batches drawn like training batches,
    of the smallest activation BatchTopK keeps (scaled units)."""
    bs, n = model.cfg.batch_size, len(data)
    mins = []
    for _ in range(min(THRESHOLD_BATCHES, math.ceil(n / bs))):
        idx = torch.randint(0, n, (bs,), generator=g).to(data.device)
        acts = model.batch_topk(model.pre_acts(data[idx] * model.input_scale))
        pos = acts[acts > 0]
        if pos.numel():
            mins.append(pos.min().item())
    return float(np.mean(mins)) if mins else 0.0


def train_sae(
    x: np.ndarray,
    dict_size: int,
    k: int,
    steps: int | None = None,
    epochs: float | None = None,
    lr: float = 1e-3,
    seed: int = 0,
    progress: Progress | None = None,
    batch_size: int = 256,
    dead_steps: int = 200,
    device: str | None = None,
) -> tuple[SAEModel, dict]:
    """Train a BatchTopK SAE on x [n, d] (float). Returns (model in eval mode
    on `device`, history).

    steps wins over epochs (passes over x); with neither, default_steps().
    progress(step, total, loss) is called about 200 times and at the end.
    history: step (1..steps), loss (MSE per element, scaled units, per
    step), resampled [(step, n_features)], threshold, dead_at_end (features
    without any activation in the last dead_steps steps), input_scale,
    device, seconds.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n, d = x.shape
    if not np.isfinite(x).all():
        raise ValueError("x has NaN/inf rows")
    batch_size = min(batch_size, n)
    if steps is None:
        steps = math.ceil(epochs * n / batch_size) if epochs else default_steps(n, batch_size)
    cfg = SAEConfig(d, dict_size, k, lr, batch_size, int(steps), seed, dead_steps)
    dev = _device(device)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        data = torch.from_numpy(x).to(dev)
        model = SAEModel(cfg)
        _init(model, torch.from_numpy(x), g)
        model.to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99))
        losses = torch.zeros(cfg.steps, device=dev)
        since_active = torch.zeros(dict_size, dtype=torch.long, device=dev)
        resampled: list[tuple[int, int]] = []
        every = max(1, cfg.steps // 200)
        for step in range(cfg.steps):
            idx = torch.randint(0, n, (batch_size,), generator=g).to(dev)
            xs = data[idx] * model.input_scale
            acts = model.batch_topk(model.pre_acts(xs))
            recon = model.decode(acts)
            loss = (recon - xs).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            _drop_radial_grad(model)
            opt.step()
            _renorm_decoder(model)
            with torch.no_grad():
                fired = (acts > 0).any(0)
                since_active = (since_active + 1) * (~fired)
                losses[step] = loss.detach()
            # Check every 10 steps: each check syncs the GPU.
            if step < cfg.resample_until * cfg.steps and (step + 1) % 10 == 0:
                dead_idx = (since_active >= dead_steps).nonzero().flatten()
                if len(dead_idx):
                    got = _resample(model, opt, xs, recon.detach(), dead_idx, g)
                    since_active[dead_idx[:got]] = 0
                    if got:
                        resampled.append((step + 1, got))
            if progress and ((step + 1) % every == 0 or step + 1 == cfg.steps):
                progress(step + 1, cfg.steps, float(loss.detach()))
        model.eval()
        thr = _estimate_threshold(model, data, g)
        model.threshold.fill_(thr)
        dead_at_end = int((since_active >= dead_steps).sum())
    history = {
        "step": list(range(1, cfg.steps + 1)),
        "loss": losses.cpu().tolist(),
        "resampled": resampled,
        "threshold": thr,
        "dead_at_end": dead_at_end,
        "input_scale": float(model.input_scale),
        "device": dev,
        "seconds": time.perf_counter() - t0,
    }
    return model, history


@torch.no_grad()
def encode(model: SAEModel, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Raw inputs [n, d] -> activations [n, dict_size] float32 (threshold
    rule, so each row is encoded alone: no batch effects). Dense: for large
    n × dict_size use top_activations()."""
    dev = model.b_dec.device
    out = []
    for s in range(0, len(x), batch_size):
        xb = torch.as_tensor(np.asarray(x[s : s + batch_size], np.float32), device=dev)
        out.append(model.encode_scaled(xb * model.input_scale).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.cfg.dict_size), np.float32)


@torch.no_grad()
def top_activations(model: SAEModel, x: np.ndarray, top: int = 50, batch_size: int = 4096) -> pd.DataFrame:
    """Each feature's `top` largest nonzero activations over x, streamed in
    batches so the dense [n, dict_size] matrix never exists. Columns:
    feature, rank (0 = max), row (positional row of x), activation — the
    table analysis.behaviorbox.feature_stats accepts."""
    dev = model.b_dec.device
    f = model.cfg.dict_size
    best_v = torch.zeros(0, f, device=dev)
    best_i = torch.zeros(0, f, dtype=torch.long, device=dev)
    for s in range(0, len(x), batch_size):
        xb = torch.as_tensor(np.asarray(x[s : s + batch_size], np.float32), device=dev)
        acts = model.encode_scaled(xb * model.input_scale)
        rows = torch.arange(s, s + len(xb), device=dev)[:, None].expand(-1, f)
        v = torch.cat([best_v, acts])
        i = torch.cat([best_i, rows])
        t = min(top, len(v))
        best_v, pos = v.topk(t, dim=0)
        best_i = i.gather(0, pos)
    v, i = best_v.cpu().numpy(), best_i.cpu().numpy()
    rank, feat = np.nonzero(v > 0)
    out = pd.DataFrame({"feature": feat, "rank": rank, "row": i[rank, feat], "activation": v[rank, feat].astype(float)})
    return out.sort_values(["feature", "rank"], kind="stable").reset_index(drop=True).astype(
        {"feature": "int64", "rank": "int64", "row": "int64"}
    )


def save_sae(model: SAEModel, directory: str | Path) -> Path:
    """Write sae.safetensors (state dict incl. threshold and input scale) and
    sae.json (hyper-parameters) into `directory`."""
    from safetensors.torch import save_file

    path = Path(directory)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic.temp_file(path / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp))
    atomic.write_json(path / CONFIG_FILE, dataclasses.asdict(model.cfg), indent=2)
    return path


def load_sae(directory: str | Path, device: str | None = None) -> SAEModel:
    """Inverse of save_sae; the model comes back in eval mode on `device`
    (default: cuda when available)."""
    from safetensors.torch import load_file

    path = Path(directory)
    cfg = SAEConfig(**json.loads((path / CONFIG_FILE).read_text()))
    model = SAEModel(cfg)
    model.load_state_dict(load_file(str(path / WEIGHTS_FILE)))
    return model.to(_device(device)).eval()
