"""Input images: safe decoding, foreground masks, optional auto-fix and framing.

The engine calls :func:`prepare_view` per photo, then :func:`frame_view` (one photo) or
:func:`frame_shared` (several views of one object) to get square, object-centred crops.
"""

from meshsmith.inputs.decode import DecodedImage, load_image
from meshsmith.inputs.enhance import autofix
from meshsmith.inputs.framing import FramedView, frame_cropped, frame_shared, frame_view
from meshsmith.inputs.mask import foreground_mask
from meshsmith.inputs.prepare import PreparedView, prepare_view

__all__ = [
    "DecodedImage",
    "FramedView",
    "PreparedView",
    "autofix",
    "foreground_mask",
    "frame_cropped",
    "frame_shared",
    "frame_view",
    "load_image",
    "prepare_view",
]
