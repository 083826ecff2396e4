"""BehaviorBox's public names in one place, for pages and scripts: training
(backend/behaviorbox/train.py), the result on disk (backend/behaviorbox/store.py),
model-written descriptions (backend/behaviorbox/describe.py), and settings, selection
and examples in context (analysis/behaviorbox_select.py). Importing it does not import torch.
"""

from __future__ import annotations

from analysis import behaviorbox as B  # noqa: F401 - callers reach the maths as run.B
from analysis.behaviorbox_select import (  # noqa: F401
    BehaviorBoxResult,
    BehaviorBoxSettings,
    default_steps,
    examples_in_context,
    has_context_check,
    k_for,
    resolve,
    selected_features,
    usable_words,
)
from backend.behaviorbox.describe import DESCRIBE_EXAMPLES, DESCRIBE_PROMPT, describe_prompt, describe_with_model  # noqa: F401
from backend.behaviorbox.store import (  # noqa: F401
    EMBEDDINGS_FILE,
    FORMAT_VERSION,
    SUBDIR,
    load_behaviorbox,
    load_sae_of,
    run_folder_of,
    save_behaviorbox,
    save_model_descriptions,
)
from backend.behaviorbox.train import Progress, default_encoder, run_behaviorbox  # noqa: F401
