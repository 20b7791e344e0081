"""CLI: `guardid face compare` and `guardid eval face` (calibration on a site's own data)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.context import emit, fail, subgroup
from registry.settings import get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add the face commands to the CLI."""
    face = sub.add_parser("face", help="face engine").add_subparsers(dest="face_cmd",
                                                                     required=True)
    c = face.add_parser("compare", help="compare the faces in two photos (1:1)")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_compare)

    e = subgroup(sub, "eval", "evaluate a biometric engine on labelled data").add_parser(
        "face", help="error rates and calibrated thresholds on a folder of identities")
    e.add_argument("--dataset", type=Path, required=True,
                   help="one folder per identity (LFW's images/<name>/<name>_NNNN.jpg works)")
    e.add_argument("--pairs", type=Path, help="a pairs file in LFW's pairs.txt format")
    e.add_argument("--impostors", type=int, default=10_000,
                   help="seeded impostor pairs without --pairs (default 10000)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--gate", choices=["enrol", "lenient"], default="enrol",
                   help="quality gate: the enrolment gate, or a lenient one for archival "
                        "photos (small, off-pose)")
    e.add_argument("--workers", type=int, default=2)
    e.add_argument("--save-thresholds", type=Path, help="write the calibrated thresholds here")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_eval)


def _engine(gate: str = "enrol"):
    from matching.face import FaceEngine

    params = get_settings().face_params()
    return FaceEngine(params.lenient() if gate == "lenient" else params)


def _compare(args: argparse.Namespace) -> int:
    from matching.face import face_similarity
    from matching.face.params import load_thresholds
    from matching.imageio import decode

    settings = get_settings()
    engine = _engine()
    templates = [engine.template(decode(p.read_bytes(), max_bytes=settings.max_upload_bytes,
                                        max_pixels=settings.max_image_pixels).pixels)
                 for p in (args.a, args.b)]
    name = settings.face_decision_threshold
    threshold = load_thresholds(settings.face_thresholds_file)[name]
    score = face_similarity(*templates)
    decision = "match" if score >= threshold else "no_match"
    emit({"score": round(score, 4), "decision": decision, "threshold_name": name,
          "threshold": threshold}, as_json=args.json,
         text=f"{decision}: similarity {score:.4f} (threshold {name} = {threshold})")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from matching.face.evaluate import evaluate

    result = evaluate(_engine(args.gate), args.dataset, pairs_file=args.pairs,
                      impostors=args.impostors, seed=args.seed, workers=args.workers)
    result["gate"] = args.gate
    emit(result, as_json=args.json, text=_report(result))
    if not any(v is not None for v in result["thresholds"].values()):
        cal = result["calibration"]
        return fail("no threshold calibrated (" + "; ".join(
            f"{k}: {v}" for k, v in cal["refused"].items()) + "): the data are too few or the "
            "gate enrolled too few photos" + ("; nothing written" if args.save_thresholds
                                              else ""))
    if args.save_thresholds:
        args.save_thresholds.parent.mkdir(parents=True, exist_ok=True)
        args.save_thresholds.write_text(json.dumps(
            {"model_id": result["model_id"], "thresholds": result["thresholds"],
             "dataset": result["dataset"], "genuine_pairs": result["genuine_pairs"],
             "impostor_pairs": result["impostor_pairs"]}, indent=2))
    return 0


def _report(r: dict) -> str:
    """Return the evaluation as text for people."""
    lines = [f"protocol: {r['protocol']}",
             f"identities {r['identities']}, images {r['images']}, genuine pairs "
             f"{r['genuine_pairs']}, impostor pairs {r['impostor_pairs']}",
             f"failure to enrol: {r['fte_rate']:.2%} {r['fte_reasons']} "
             f"({r['pairs_with_fte']} pairs touched; scored as non-matches)",
             f"EER {r['eer']:.2%} at similarity {r['eer_threshold']:.4f}"]
    refused = r["calibration"]["refused"]
    for (fmr, fnmr), name in zip(r["fnmr_at_fmr"].items(), r["thresholds"], strict=True):
        lines.append(f"FNMR at FMR {fmr}: " + (f"not calibrated ({refused[name]})"
                                               if fnmr is None else f"{fnmr:.2%}"))
    lines.append("thresholds: " + ", ".join(f"{k}={v:.4f}" if v is not None else f"{k}=n/a"
                                            for k, v in r["thresholds"].items()))
    if "lfw_accuracy" in r:
        acc = r["lfw_accuracy"]
        lines.append(f"LFW-protocol accuracy {acc['mean']:.2%} ± {acc['std']:.2%}")
    return "\n".join(lines)
