"""A face drawn with ellipses that OpenCV's frontal-face cascade finds (checked in
tests/engine/images/test_detectors.py), for the Fix Faces tests."""

from __future__ import annotations

from PIL import Image, ImageDraw

BACKGROUND = (90, 110, 140)


def drawn_face(
    size: tuple[int, int] = (128, 128), box: tuple[int, int, int, int] = (32, 24, 96, 104)
) -> Image.Image:
    """A plain background with one face in ``box``: skin, brows, eyes, nose and mouth."""
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    draw.ellipse(box, fill=(224, 186, 160))
    for cx in (left + w * 0.32, left + w * 0.68):
        draw.rectangle((cx - w * 0.13, top + h * 0.30, cx + w * 0.13, top + h * 0.34), (60, 40, 30))
        draw.ellipse((cx - w * 0.1, top + h * 0.37, cx + w * 0.1, top + h * 0.45), (255, 255, 255))
        draw.ellipse((cx - w * 0.05, top + h * 0.38, cx + w * 0.05, top + h * 0.44), (30, 20, 20))
    nose = [(left + w * 0.5, top + h * 0.45), (left + w * 0.43, top + h * 0.62)]
    draw.polygon([*nose, (left + w * 0.57, top + h * 0.62)], fill=(190, 140, 120))
    draw.ellipse((left + w * 0.33, top + h * 0.70, left + w * 0.67, top + h * 0.78), (150, 60, 60))
    return image
