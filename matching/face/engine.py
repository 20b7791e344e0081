"""The face engine: owns the dlib models and turns an RGB photo into a checked template."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from matching.exceptions import ImageError, QualityError
from matching.face import quality, resnet, selection
from matching.face.params import FaceParams
from matching.face.template import FaceTemplate
from matching.imageio import decode

# Chip geometry expected by dlib's ResNet (dlib's face_recognition example).
CHIP_SIZE = 150
CHIP_PADDING = 0.25
# The eye centres lie this many pixels apart in such a chip (measured with the landmark model
# on chips of the sample photos: 51.7-53.7). A face at least this wide in the decoded pixels
# is shrunk into the chip, never enlarged, so a photo decoded at reduced scale that keeps it
# so gives the model the same detail (bench/probe_photo.py: templates within cosine 0.994 of
# the full decode's, scores against another photo of the person moved by at most 0.0034,
# where the named thresholds lie 0.014-0.019 apart).
CHIP_INTER_EYE_PX = 52.0
# dlib holds the GIL for part of its work (threads measured 1.2x on 2 cores), so batches this
# large go to worker processes, each with its own models (~1 s to load).
PROCESS_BATCH_MIN = 32
# dlib's models keep scratch state inside their objects (its DNN segfaulted in CI when two
# threads shared one), so every call into them holds the engine's model lock; parallelism
# comes from worker processes.


@dataclass(frozen=True)
class FaceAnalysis:
    """What one photo yields: the gate's verdict, the template if it passed, the face box."""

    verdict: quality.QualityVerdict
    template: FaceTemplate | None
    box: tuple[int, int, int, int] | None  # left, top, right, bottom in the input's pixels
    faces_found: int


class _Models:
    """dlib's detector and landmarks, and its ResNet's weights for the numpy forward pass.

    Built on first use (never at import), shared by threads. The CNN face detector, needed
    only when HOG finds no face, loads the first time it is needed.
    """

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as frm

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(frm.pose_predictor_model_location())
        self.resnet = resnet.load(frm.face_recognition_model_location())
        self._cnn: Any = None

    @property
    def cnn(self) -> Any:
        """Return dlib's CNN (MMOD) face detector, loading it once (callers hold the lock)."""
        if self._cnn is None:
            import face_recognition_models as frm

            self._cnn = self.dlib.cnn_face_detection_model_v1(
                frm.cnn_face_detector_model_location())
        return self._cnn


class FaceEngine:
    """Detect, check and embed faces; thread-safe; models load lazily on first use."""

    def __init__(self, params: FaceParams | None = None):
        self.params = params or FaceParams()
        self._models: _Models | None = None
        self._lock = threading.Lock()
        self._use = threading.Lock()  # serialises every call into the dlib models

    @property
    def models(self) -> _Models:
        """Return the loaded models, loading them once."""
        if self._models is None:
            with self._lock:
                if self._models is None:
                    self._models = _Models()
        return self._models

    def warm_up(self) -> None:
        """Load the models now (the app's lifespan calls this off the request path)."""
        _ = self.models

    def _detect(self, rgb: np.ndarray, *, dominant: bool = False) -> list[tuple[Any, float]]:
        """Return (full-resolution dlib rectangle, score) per face, detected on a small copy.

        With ``dominant`` a coarse grey pass comes first (see FaceParams.coarse_detect_side).
        """
        coarse = self.params.coarse_detect_side
        if dominant and max(rgb.shape[:2]) > coarse:
            faces = self._detect_at(rgb, coarse, grey=True)
            if faces:
                return faces
        return self._detect_at(rgb, self.params.detect_max_side) or self._detect_cnn(rgb)

    def _detect_cnn(self, rgb: np.ndarray) -> list[tuple[Any, float]]:
        """Return the faces dlib's CNN detector finds (the fallback when HOG finds none).

        It runs on a copy at most FaceParams.cnn_detect_side pixels wide (upsampled once
        below upsample_below_side, as HOG is), which bounds its cost (see the parameter).
        """
        m, p = self.models, self.params
        if not p.cnn_fallback:
            return []
        h, w = rgb.shape[:2]
        scale = min(1.0, p.cnn_detect_side / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(
            rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        upsample = 1 if max(small.shape[:2]) < p.upsample_below_side else 0
        out = []
        for d in m.cnn(small, upsample):
            r = d.rect
            out.append((m.dlib.rectangle(int(r.left() / scale), int(r.top() / scale),
                                         int(r.right() / scale), int(r.bottom() / scale)),
                        float(d.confidence)))
        return out

    def _detect_at(self, rgb: np.ndarray, max_side: int, *,
                   grey: bool = False) -> list[tuple[Any, float]]:
        """Return the faces HOG finds on a copy of ``rgb`` at most ``max_side`` pixels wide.

        With ``grey`` HOG runs on a grey copy: one gradient channel instead of three.
        """
        m, p = self.models, self.params
        h, w = rgb.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if grey else rgb
        small = image if scale == 1.0 else cv2.resize(
            image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        upsample = 1 if max(small.shape[:2]) < p.upsample_below_side else 0
        rects, scores, _ = m.detector.run(small, upsample, p.min_detection_score)
        out = []
        for r, s in zip(rects, scores, strict=True):
            full = m.dlib.rectangle(int(r.left() / scale), int(r.top() / scale),
                                    int(r.right() / scale), int(r.bottom() / scale))
            out.append((full, float(s)))
        return out

    def analyze(self, rgb: np.ndarray, *, dominant: bool = False, pixel_scale: int = 1,
                face: tuple[int, int, int, int] | None = None,
                probe: bool = False) -> FaceAnalysis:
        """Detect, run the quality gate and embed; ``dominant`` picks the subject's face.

        ``pixel_scale``: photo pixels per pixel of ``rgb`` (a JPEG decoded at reduced scale);
        the face size the gate judges and the box are given in the photo's own pixels.
        ``face``: the face's box in ``rgb``'s pixels when it is already known (no detection).
        ``probe``: judge with the probe gate (FaceParams.probe_gate) and embed as a probe.
        """
        rgb = _check_rgb(rgb)
        models = self.models
        with self._use:
            return self._analyze_locked(models, rgb, dominant, pixel_scale, face, probe)

    def _analyze_locked(self, m: _Models, rgb: np.ndarray, dominant: bool, pixel_scale: int,
                        face: tuple[int, int, int, int] | None, probe: bool) -> FaceAnalysis:
        """Run :meth:`analyze` while holding the model lock."""
        faces = ([(m.dlib.rectangle(*face), 0.0)] if face is not None
                 else self._detect(rgb, dominant=dominant))
        if not faces:
            return FaceAnalysis(quality.QualityVerdict(False, [quality.reason("no_face", 0, 1)]),
                                None, None, 0)
        if len(faces) > 1 and not dominant:
            verdict = quality.QualityVerdict(False, [quality.reason("multiple_faces",
                                                                    len(faces), 1)])
            return FaceAnalysis(verdict, None, None, len(faces))
        rect = _subject(faces, rgb.shape[:2])
        return self._judge_locked(m, rgb, rect, m.landmarks(rgb, rect), len(faces), pixel_scale,
                                  probe)

    def _judge_locked(self, m: _Models, rgb: np.ndarray, rect: Any, shape: Any,
                      faces_found: int, pixel_scale: int, probe: bool = False) -> FaceAnalysis:
        """Gate the face at ``rect`` (landmarks ``shape``) and embed it if it passes."""
        p = self.params.probe_gate() if probe else self.params
        points = _points(shape)
        chip = m.dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        measures = {**quality.geometry(points, rgb.shape[:2]), **quality.photometry(chip)}
        measures["inter_eye_px"] *= pixel_scale
        verdict = quality.judge(measures, p)
        box = tuple(v * pixel_scale for v in (rect.left(), rect.top(), rect.right(),
                                              rect.bottom()))
        if not verdict.passed:
            return FaceAnalysis(verdict, None, box, faces_found)
        mirror = p.probe_mirror if probe else p.mirror_embedding
        # The chip and its mirror image are two views of one face: their embeddings' sum
        # cancels part of what the pose and lighting of one side add (params.mirror_embedding).
        chips = np.stack([chip, chip[:, ::-1]]) if mirror else chip[None]
        embedding = resnet.embed(m.resnet, np.ascontiguousarray(chips)).sum(axis=0)
        template = FaceTemplate.from_embedding(
            embedding, quality=quality.quality_score(measures, self.params),
            measures=verdict.measures)
        return FaceAnalysis(verdict, template, box, faces_found)

    def template(self, rgb: np.ndarray, *, dominant: bool = False,
                 probe: bool = False) -> FaceTemplate:
        """Return the template of the face in ``rgb``; raise QualityError when the gate fails."""
        result = self.analyze(rgb, dominant=dominant, probe=probe)
        if result.template is None:
            codes = ", ".join(r.code for r in result.verdict.reasons)
            raise QualityError(f"the face photo fails the quality gate: {codes}",
                               details=[quality.asdict(r) for r in result.verdict.reasons])
        return result.template

    def probe_template(self, data: bytes, *, max_bytes: int, max_pixels: int) -> FaceTemplate:
        """Return the template of the subject's face in a probe photo; raise if unusable.

        A probe (spot check, exam door) is judged by the probe gate (FaceParams.probe_gate):
        it is compared with a good enrolment, so pose and size limits are looser.

        A large JPEG is decoded at reduced scale first (FaceParams.probe_decode_side) to find
        the face; the template is taken at that scale, or from a finer decode when the face
        would otherwise be enlarged into the chip (CHIP_INTER_EYE_PX). When that finds no face
        or the gate refuses, the photo is judged decoded in full: a reduced decode never
        refuses a photo the full decode accepts.
        """
        limits = {"max_bytes": max_bytes, "max_pixels": max_pixels}
        first = decode(data, min_side=self.params.probe_decode_side, **limits)
        if first.scale > 1:
            result = self._analyze_reduced(data, first, limits)
            if result is not None and result.template is not None:
                return result.template
        full = first if first.scale == 1 else decode(data, **limits)
        return self.template(full.pixels, dominant=True, probe=True)

    def _analyze_reduced(self, data: bytes, first: Any, limits: dict[str, int]
                         ) -> FaceAnalysis | None:
        """Analyse the subject's face of ``data`` found in its reduced decode ``first``: at that
        scale when the face fills the chip there, else from a finer decode (None: no face)."""
        m, rgb = self.models, _check_rgb(first.pixels)
        with self._use:
            faces = self._detect(rgb, dominant=True)
            if not faces:
                return None
            rect = _subject(faces, rgb.shape[:2])
            shape = m.landmarks(rgb, rect)
            # The coarsest reduction of the photo that keeps the eyes CHIP_INTER_EYE_PX apart
            # (the decoder rounds it down to 1, 2, 4 or 8).
            fits = int(quality.inter_eye_px(_points(shape)) * first.scale / CHIP_INTER_EYE_PX)
            if fits >= first.scale:
                return self._judge_locked(m, rgb, rect, shape, len(faces), first.scale, True)
        finer = decode(data, min_side=self.params.probe_decode_side, max_scale=max(1, fits),
                       **limits)
        ratio = first.scale // finer.scale
        box = (rect.left() * ratio, rect.top() * ratio, rect.right() * ratio,
               rect.bottom() * ratio)
        return self.analyze(finer.pixels, dominant=True, pixel_scale=finer.scale, face=box,
                            probe=True)

    def analyze_batch(self, images: list[np.ndarray], *, dominant: bool = False,
                      workers: int = 2) -> list[FaceAnalysis]:
        """Analyse many photos on ``workers`` cores, in input order."""
        if workers > 1 and len(images) >= PROCESS_BATCH_MIN:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                     initargs=(self.params,)) as pool:
                return list(pool.map(_worker_analyze, images, [dominant] * len(images),
                                     chunksize=8))
        return [self.analyze(im, dominant=dominant) for im in images]


_WORKER_ENGINE: FaceEngine | None = None


def _init_worker(params: FaceParams) -> None:
    """Build the worker process's own engine (runs once per worker, not at import)."""
    global _WORKER_ENGINE
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # one process per core: BLAS threads would only contend
    _WORKER_ENGINE = FaceEngine(params)
    _WORKER_ENGINE.warm_up()


def _worker_analyze(image: np.ndarray, dominant: bool) -> FaceAnalysis:
    """Analyse one photo in a worker process."""
    assert _WORKER_ENGINE is not None
    return _WORKER_ENGINE.analyze(image, dominant=dominant)


def _subject(faces: list[tuple[Any, float]], shape: tuple[int, int]) -> Any:
    """Return the dlib rectangle of the subject among detected (rectangle, score) faces."""
    boxes = [selection.Box(r.left(), r.top(), r.right(), r.bottom(), s) for r, s in faces]
    return faces[selection.subject(boxes, shape)][0]


def _points(shape: Any) -> np.ndarray:
    """Return dlib's landmarks as an (n, 2) float array."""
    return np.array([(pt.x, pt.y) for pt in shape.parts()], dtype=np.float64)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    """Return ``rgb`` as a C-contiguous HxWx3 uint8 array, or raise ImageError."""
    arr = np.asarray(rgb)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ImageError("a face photo must be an HxWx3 uint8 RGB array")
    return np.ascontiguousarray(arr)
