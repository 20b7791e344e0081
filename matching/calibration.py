"""Calibration files: thresholds named by false-match rate, written by `guardid eval ...`."""

from __future__ import annotations

import json
from pathlib import Path

from matching.exceptions import TemplateError


def load_thresholds(path: str | None, *, model_id: str,
                    defaults: dict[str, float]) -> dict[str, float]:
    """Return the defaults overlaid with a calibration file's thresholds.

    A file made for another model is refused: its thresholds mean nothing for this model's
    scores. Thresholds the file could not resolve (null) keep their defaults.
    """
    if not path:
        return dict(defaults)
    data = json.loads(Path(path).read_text())
    if data.get("model_id") != model_id:
        raise TemplateError(f"calibration {path} is for model {data.get('model_id')}, "
                            f"not {model_id}", code="calibration_mismatch")
    return {**defaults,
            **{k: float(v) for k, v in data["thresholds"].items() if v is not None}}
