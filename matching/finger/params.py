"""Every constant of fingerprint extraction and matching, named and explained in one place.

Distances are in pixels at 500 ppi (one ridge period is ~9 px, ~0.46 mm). MCC values follow
Cappelli, Ferrara & Maltoni, "Minutia Cylinder-Code", IEEE TPAMI 32(12), 2010, Table 1,
except where noted.
"""

from __future__ import annotations

from dataclasses import dataclass

# v3 (2026-12-01): same minutiae as v2, new score scale (LSS-R averages n_P pairs counting
# missing ones as 0, n_P >= 6, distance tolerance 8 px): v2 calibrations must not be reused.
# v2 (2026-11-26): GMFS-style segmentation and x-signature ridge period; v1 before.
MODEL_ID = "guardid_mcc_v3"


@dataclass(frozen=True)
class FingerParams:
    """Parameters of the extraction chain and of the MCC matcher."""

    # --- segmentation (GMFS, Cappelli 2024; that paper's values): foreground where the
    # gradient magnitude averaged over segment_sigma exceeds segment_threshold x its
    # segment_percentile-th percentile; then closing/opening with a 3x3 cell, repeated
    segment_sigma: float = 13 / 3
    segment_percentile: float = 95.0
    segment_threshold: float = 0.2
    segment_close: int = 6
    segment_open: int = 12
    min_foreground_fraction: float = 0.08  # less than this: no_fingerprint_area

    # --- orientation field (gradient tensor smoothed over ~2 ridge periods). Cappelli's
    # GBFOE (wider, coherence-adapted windows) was tried: it agreed within a degree but
    # did not lower the EER on the development fingers (BENCHMARKS.md)
    gradient_sigma: float = 1.0
    orientation_sigma: float = 7.0

    # --- ridge frequency: sought within ridge periods of this range (px), from x-signatures
    # period_window px long across the ridges and period_width px wide along them, taken
    # every period_step px inside the print
    min_period: float = 5.0
    max_period: float = 15.0
    period_window: int = 48
    period_width: int = 16
    period_step: int = 16
    # --- local ridge period for the Gabor filters (Hong, Wan & Jain 1998): the block periods
    # smoothed over period_map_sigma grid steps, held within period_map_range of the median,
    # and filtered in bins period_bin_step apart. Measured on issue 21's development fingers,
    # not adopted (BENCHMARKS.md, bench/finger_variants.py)
    local_period: bool = False
    period_map_sigma: float = 1.5
    period_map_range: float = 1.3
    period_bin_step: float = 1.1
    # --- ridge evidence (is it a fingerprint at all?): a block is a ridge block when its
    # x-signature keeps more than ridge_band_share of its power in the period band, at a
    # period within ridge_period_tolerance of the print's median. The gate wants at least
    # min_ridge_share of the blocks and min_ridge_blocks of them. Measured with
    # bench/finger_ridge_gate.py (2026-12-01): 240 FVC impressions (2002 DB1 B, 2004 DB1 B and
    # DB2 B) have share >= 0.22 and >= 37 blocks (none refused); 136 face photos (LFW and
    # samples) have share < 0.2 or < 10 blocks (all refused)
    ridge_band_share: float = 0.5
    ridge_period_tolerance: float = 0.2
    min_ridge_share: float = 0.20
    min_ridge_blocks: int = 20

    # --- contextual Gabor enhancement; local_norm_sigma > 0 first normalises the image's
    # mean and spread over Gaussian windows of that sigma (px) on the foreground (measured,
    # not adopted: BENCHMARKS.md)
    local_norm_sigma: float = 0.0
    gabor_orientations: int = 16
    gabor_sigma: float = 4.0  # envelope, in px (~half a ridge period)
    gabor_kernel: int = 25

    # --- minutiae
    border_px: int = 12  # away from the foreground border
    min_minutia_distance: float = 7.0  # closer pairs are broken-ridge or bridge artefacts
    direction_trace_px: int = 9  # ridge length followed to measure an ending's direction
    max_minutiae: int = 120
    # Ridge-quality rule (extract.ridge_quality): no minutiae where the share of ridge-band
    # power, smoothed over ridge_quality_sigma blocks, is below min_ridge_quality (0: off),
    # nor within quality_border_px of such a patch. 0.3 / 8 px was the best on issue 21's
    # development fingers but did not help the held-out ones: off (BENCHMARKS.md)
    min_ridge_quality: float = 0.0
    ridge_quality_sigma: float = 1.0
    quality_border_px: int = 8

    # --- MCC (cylinders): radius R, Ns x Ns x Nd cells
    mcc_radius: float = 70.0
    mcc_ns: int = 8  # MCC8: 8x8x6 cells; the paper's MCC16 is ~4x slower for ~equal accuracy
    mcc_nd: int = 6
    mcc_sigma_s: float = 28.0 / 3.0
    mcc_sigma_d: float = 2 * 3.141592653589793 / 9
    mcc_mu_psi: float = 0.01
    mcc_tau_psi: float = 400.0
    mcc_omega: float = 50.0  # how far outside the convex hull a cell still counts
    mcc_min_valid_cells: float = 0.20  # a cylinder with fewer valid cells is dropped
    mcc_min_neighbours: int = 2  # ...and so is one with fewer minutiae around it
    mcc_min_matchable: float = 0.60  # share of cells two cylinders must have in common
    mcc_max_direction_diff: float = 3.141592653589793 / 2

    # --- consolidation (LSS / LSS-R): how many top local similarities count. The paper's
    # minimum n_P of 4 let a template of 3-15 cylinders reach the highest impostor scores of
    # FVC2004 DB1 B / DB2 B from a few chance pairs; 6 was chosen on fingers 101-105
    # (BENCHMARKS.md), and LSS-R divides by n_P even when fewer pairs exist (mcc.lss_r)
    lss_min_np: int = 6
    lss_max_np: int = 12
    lss_mu_p: float = 20.0
    lss_tau_p: float = 0.4
    relax_iterations: int = 5  # LSS-R
    relax_weight: float = 0.5
    # Distance disagreement (px) at which two pairs' compatibility halves: the paper's 5 px
    # is tight for FVC2004's elastic distortion; 8 was chosen on fingers 101-105
    relax_mu1: float = 8.0
    # Share of the pair's mean distance added to that tolerance (0: the paper's absolute rule;
    # a growing tolerance was measured for issue 21 and not adopted, BENCHMARKS.md)
    relax_rel: float = 0.0
    relax_tau1: float = -1.6
    relax_mu2: float = 3.141592653589793 / 12
    relax_tau2: float = -30.0
    relax_mu3: float = 3.141592653589793 / 12
    relax_tau3: float = -30.0
    relax_candidates: float = 3.0  # LSS-R relaxes this many times n_P top pairs

    consolidation: str = "lss-r"  # "lss" or "lss-r"


# Score thresholds named by the false-match rate they target, calibrated on FVC2004 DB1 B
# (every impostor pair between different fingers: 2,880). 1e-3 leaves 2 impostor pairs
# above it; 1e-4 is not resolvable there: it is just above the highest impostor score seen
# (0.0322), so its measured FMR is below 1/2,880 (3.5e-4). Held-out figures (chosen on
# fingers 101-105 of three sets, reported on 106-110) are in BENCHMARKS.md. A site
# recalibrates on its own readers with `guardid eval finger --save-thresholds` and points
# GUARDID_FINGER_THRESHOLDS_FILE at the result.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "finger_fmr_1e-2": 0.0221,
    "finger_fmr_1e-3": 0.0275,
    "finger_fmr_1e-4": 0.0323,
}


def load_thresholds(path: str | None) -> dict[str, float]:
    """Return the finger thresholds of a file written by ``guardid eval finger`` (or defaults)."""
    from matching.calibration import load_thresholds as load

    return load(path, model_id=MODEL_ID, defaults=DEFAULT_THRESHOLDS)
