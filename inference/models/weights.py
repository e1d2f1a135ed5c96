"""Loading weights safely: a leaf module (no EO Lens imports but errors) that every family uses."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..errors import UnsafeModelError

# Every family loads from a local folder the runtime resolved (a revision-pinned hub snapshot or
# the analyst's own folder), so ``from_pretrained`` takes no hub revision; said explicitly.
FOLDER_REVISION: Optional[str] = None


def safe_torch_load(path: str | Path, map_location: str = "cpu") -> Any:
    """``torch.load`` that never unpickles code: tensors and plain containers only."""
    import pickle  # nosec B403: only to catch the refusal of weights_only loads

    import torch

    try:
        return torch.load(str(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeModelError(
            f"Refused to load '{path}': the checkpoint contains Python objects beyond plain weights, "
            f"which could run code. Use a .safetensors file or a trusted plain state_dict.") from err


def weights_kwargs(path: str | Path) -> dict:
    """``from_pretrained`` kwargs: safetensors when the folder has them (no pickle at all)."""
    folder = Path(path)
    return {"use_safetensors": True} if any(folder.glob("*.safetensors")) else {}


