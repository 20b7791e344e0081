"""CLI: `guardid finger compare`, `guardid finger extract`, `guardid finger reextract` and
`guardid eval finger`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.context import CLI_ACTOR, emit, runtime, subgroup
from registry.settings import get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add the fingerprint commands to the CLI."""
    finger = sub.add_parser("finger", help="fingerprint engine").add_subparsers(
        dest="finger_cmd", required=True)
    c = finger.add_parser("compare", help="compare two fingerprint impressions (1:1)")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--ppi", type=int, help="resolution of both images (default: as stated, "
                                           "else 500)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_compare)
    x = finger.add_parser("extract", help="minutiae and quality of one impression")
    x.add_argument("image", type=Path)
    x.add_argument("--ppi", type=int)
    x.add_argument("--iso", type=Path, help="also write an ISO/IEC 19794-2:2005 record here")
    x.add_argument("--json", action="store_true")
    x.set_defaults(func=_extract)
    r = finger.add_parser("reextract", help="re-make stored templates of an older extraction "
                                            "model from their encrypted images")
    r.add_argument("--batch", type=int, default=200, help="templates per transaction")
    r.add_argument("--limit", type=int, help="stop after this many (default: all)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_reextract)
    e = subgroup(sub, "eval", "evaluate a biometric engine on labelled data").add_parser(
        "finger", help="FVC-protocol error rates and calibrated thresholds")
    e.add_argument("--dataset", type=Path, required=True,
                   help="FVC-style <finger>_<impression>.<ext> files, or a folder per finger")
    e.add_argument("--all-impostors", action="store_true",
                   help="impostors between every impression of different fingers")
    e.add_argument("--ppi", type=int, help="true resolution of every image (FVC2002/2004: "
                                           "500; default: as stated, else 500)")
    e.add_argument("--save-thresholds", type=Path)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_eval)


def _template(path: Path, ppi: int | None):  # noqa: ANN202
    from matching.finger import FingerprintEngine, decode_fingerprint

    s = get_settings()
    gray = decode_fingerprint(path.read_bytes(), max_bytes=s.max_upload_bytes,
                              max_pixels=s.max_image_pixels, ppi=ppi)
    return FingerprintEngine().analyze(gray)


def _compare(args: argparse.Namespace) -> int:
    from matching.finger import finger_similarity
    from matching.finger.params import load_thresholds

    a, b = _template(args.a, args.ppi), _template(args.b, args.ppi)
    settings = get_settings()
    name = settings.verify_finger_threshold
    threshold = load_thresholds(settings.finger_thresholds_file)[name]
    score = finger_similarity(a.template, b.template)
    decision = "match" if score >= threshold else "no_match"
    emit({"score": round(score, 4), "decision": decision, "threshold_name": name,
          "threshold": threshold, "quality": [a.template.quality, b.template.quality]},
         as_json=args.json,
         text=f"{decision}: similarity {score:.4f} (threshold {name} = {threshold})")
    return 0


def _extract(args: argparse.Namespace) -> int:
    result = _template(args.image, args.ppi)
    t = result.template
    if args.iso:
        args.iso.write_bytes(t.to_iso19794_2())
    minutiae = [{"x": round(float(m[0]), 1), "y": round(float(m[1]), 1),
                 "angle_deg": round(float(m[2]) * 57.29578, 1),
                 "type": "ending" if int(m[3]) == 1 else "bifurcation",
                 "reliability": round(float(m[4]), 2)} for m in t.minutiae]
    emit({"quality": t.quality, "quality_features": result.features,
          "size": [t.width, t.height], "minutiae": minutiae,
          "iso_record": str(args.iso) if args.iso else None}, as_json=args.json,
         text=f"quality {t.quality}, {len(minutiae)} minutiae"
              + (f"; ISO record written to {args.iso}" if args.iso else ""))
    return 0


def _reextract(args: argparse.Namespace) -> int:
    from biometrics.reextract import reextract_fingers

    rt = runtime()
    with rt.sessions() as session:
        report = reextract_fingers(db_session=session, vault=rt.vault, engine=rt.finger_engine,
                                   actor=CLI_ACTOR, max_bytes=rt.settings.max_upload_bytes,
                                   max_pixels=rt.settings.max_image_pixels, batch=args.batch,
                                   limit=args.limit, ppi=rt.settings.finger_reader_ppi)
    rt.close()
    emit({"model_id": report.model_id, "reextracted": report.reextracted,
          "failed": report.failed, "remaining": report.remaining}, as_json=args.json,
         text=f"{report.reextracted} template(s) re-made with {report.model_id}; "
              f"{len(report.failed)} image(s) no longer yield a print "
              f"{sorted(report.failed.items())}; {report.remaining} still of another model")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from matching.finger import FingerprintEngine
    from matching.finger.evaluate import evaluate

    result = evaluate(FingerprintEngine(), args.dataset, all_impostors=args.all_impostors,
                      ppi=args.ppi)
    if args.save_thresholds:
        args.save_thresholds.write_text(json.dumps(
            {"model_id": result["model_id"], "thresholds": result["thresholds"],
             "dataset": result["dataset"]}, indent=2))
    lines = [f"protocol: {result['protocol']}",
             f"fingers {result['fingers']}, images {result['images']}, genuine pairs "
             f"{result['genuine_pairs']}, impostor pairs {result['impostor_pairs']}",
             f"failure to enrol {result['fte_rate']:.2%} {result['fte_reasons']}",
             f"EER {result['eer']:.2%}"]
    lines += [f"FNMR at FMR {k}: " + ("too few impostor pairs" if v is None else f"{v:.2%}")
              for k, v in result["fnmr_at_fmr"].items()]
    emit(result, as_json=args.json, text="\n".join(lines))
    return 0
