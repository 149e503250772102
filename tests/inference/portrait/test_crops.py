import torch

from inference.faces import Face, keypoints_from_box
from inference.portrait.crops import crop_resized, match_colors, paste_back, square_box


def face_at(bbox) -> Face:
    return Face(bbox=bbox, score=1.0, keypoints=keypoints_from_box(bbox))


def test_square_box_pads_and_stays_inside_the_image():
    # 60 px tall face, 25% per side: a 90 px square centred on the box.
    assert square_box(face_at((100, 100, 140, 160)), 400, 300, padding=0.25) == (75, 85, 165, 175)
    # A face at the corner: the square slides inward instead of being cut.
    x0, y0, x1, y1 = square_box(face_at((0, 0, 50, 50)), 400, 300, padding=0.5)
    assert (x0, y0) == (0, 0) and x1 - x0 == y1 - y0 == 100
    # Never larger than the image.
    x0, y0, x1, y1 = square_box(face_at((10, 10, 290, 290)), 300, 300, padding=0.5)
    assert (x0, y0, x1, y1) == (0, 0, 300, 300)


def test_crop_resized_magnifies_each_box():
    images = torch.rand(2, 3, 64, 64)
    crops = crop_resized(images, [(0, 0, 32, 32), (16, 16, 48, 48)], 128)
    assert crops.shape == (2, 3, 128, 128) and 0 <= crops.min() and crops.max() <= 1


def test_paste_back_leaves_pixels_outside_the_mask_untouched():
    base = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(1))
    face = torch.rand(3, 128, 128, generator=torch.Generator().manual_seed(2))
    mask = torch.zeros(64, 64)
    mask[20:40, 20:40] = 1.0
    mask[18:20, 20:40] = 0.5  # a feathered edge
    out = paste_back(base, face, (10, 10, 50, 50), mask)
    outside = mask == 0
    assert torch.equal(out[:, outside], base[:, outside])
    assert not torch.allclose(out[:, 25, 25], base[:, 25, 25])
    edge = out[:, 19, 30]
    assert torch.all((edge - base[:, 19, 30]).abs() > 0)


def test_colour_match_moves_statistics_to_the_reference():
    weight = torch.ones(16, 16)
    source = torch.rand(3, 16, 16) * 0.2 + 0.7  # too bright, too flat
    reference = torch.rand(3, 16, 16) * 0.5 + 0.1
    matched = match_colors(source, reference, weight)
    assert torch.allclose(matched.mean(dim=(1, 2)), reference.mean(dim=(1, 2)), atol=0.02)
    assert torch.allclose(matched.std(dim=(1, 2)), reference.std(dim=(1, 2)), atol=0.03)
