"""A scanned image checked by decoding it (Pillow, which reportlab already brings): the first bytes say JPEG or
PNG, the decoder says whether it really is one, before anything is kept; a decompression bomb is refused too."""

from __future__ import annotations

import io
import warnings

from PIL import Image

from workflow.domain.scans import ScanError

MAX_PIXELS = 60_000_000  # an A4 page at 600 dpi is 35 million pixels


def check_image(content: bytes) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ScanError("scan_too_large", "L'image est trop grande (pixels).", "The image is too large.")
                image.verify()
    except ScanError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ScanError("scan_unreadable", "Cette image ne peut pas être lue : renvoyez un autre fichier.",
                        f"This image cannot be read ({type(exc).__name__}).") from exc
