import numpy as np
import pytest
import torch

from inference.faces import Face, keypoints_from_box
from inference.portrait.masks import (
    change_map,
    face_mask,
    face_region,
    progressive_masks,
    thresholds,
    to_latent_grid,
)


def box_face(bbox, landmarks=None) -> Face:
    return Face(bbox=bbox, score=0.99, keypoints=keypoints_from_box(bbox), landmarks=landmarks)


def ring_landmarks(cx, cy, r, n=106) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], axis=1).astype(np.float32)


def test_landmark_mask_is_the_hull_grown_and_feathered():
    face = box_face((40, 40, 88, 88), landmarks=ring_landmarks(64, 64, 20))
    hull = face_region(128, 128, face)
    assert hull[64, 64] == 1 and hull[64, 86] == 0  # 22 px from the centre: outside the radius-20 hull
    mask = face_mask(128, 128, face)
    assert mask[64, 64] == pytest.approx(1.0, abs=1e-3)
    assert 0.0 < mask[64, 86] < 1.0  # the feathered edge
    assert mask[5, 5] == 0.0 and mask.min() >= 0.0 and mask.max() <= 1.0


def test_without_landmarks_an_ellipse_fills_the_box():
    face = box_face((32, 40, 96, 104))
    region = face_region(128, 160, face)
    assert region[72, 64] == 1  # the box centre
    assert region[72, 20] == 0 and region[72, 110] == 0  # left and right of the box
    assert region[40 - 5, 64] == 1  # reaches a little above the box, towards the hairline


def test_mask_scales_with_the_face():
    small = face_mask(64, 64, box_face((16, 16, 48, 48)))
    large = face_mask(256, 256, box_face((64, 64, 192, 192)))
    assert small.shape == (64, 64) and large.shape == (256, 256)
    assert abs(small.mean() - large.mean()) < 0.02  # the same fraction of the frame


def test_change_map_is_the_mask_times_strength_in_range():
    mask = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    assert change_map(mask, 0.6)[0].tolist() == pytest.approx([0.0, 0.3, 0.6])
    with pytest.raises(ValueError):
        change_map(mask, 1.5)


def test_thresholds_are_i_over_n():
    assert thresholds(4).tolist() == [0.0, 0.25, 0.5, 0.75]


def test_release_rule_matches_the_issue_examples():
    change = torch.tensor([[[0.0, 0.3, 1.0]]])  # [N=1, 1, 3]
    keep = progressive_masks(change, 10)[:, 0, 0]  # [steps, 3]
    assert keep[:, 0].all()  # c = 0: never repainted
    assert keep[:, 1].tolist() == [True] * 7 + [False] * 3  # c = 0.3: the last 30% of steps
    assert not keep[:, 2].any()  # c = 1: repainted at every step


def test_masks_have_the_documented_shape_and_only_shrink():
    change = torch.rand(3, 16, 24, generator=torch.Generator().manual_seed(0))
    keep = progressive_masks(change, 20)
    assert keep.shape == (20, 3, 16, 24) and keep.dtype == torch.bool
    # Monotonic: a released pixel (False) never comes back (True) at a later step.
    assert not (keep[1:] & ~keep[:-1]).any()


def test_change_maps_shrink_to_the_latent_grid_by_area():
    change = torch.zeros(1, 64, 64)
    change[:, :32] = 1.0
    latent = to_latent_grid(change, 8, 8)
    assert latent.shape == (1, 8, 8) and latent[0, :4].eq(1).all() and latent[0, 4:].eq(0).all()
