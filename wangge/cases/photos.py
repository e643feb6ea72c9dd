"""Case photos: JPEG, PNG or WebP checked by content, at most 10 MB and 9 per case, re-encoded
without metadata (the EXIF orientation tag is kept), with a thumbnail."""

import hashlib
import io
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from wangge.core.errors import DomainError

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_CASE = 9
MAX_PIXELS = 50_000_000
THUMB_SIZE = (480, 480)
ALLOWED = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
ORIENTATION_TAG = 0x0112
# EXIF orientation → the transposition that makes the picture upright.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    thumbnail: bytes
    extension: str
    width: int
    height: int
    sha256: str


def check_photo_count(count: int, *, existing: int = 0) -> None:
    if count + existing > MAX_PER_CASE:
        raise DomainError(
            _("每个案件最多 %(n)d 张照片 (at most %(n)d photos per case)") % {"n": MAX_PER_CASE},
            field="photos",
            code="too_many",
        )


def _read(upload: Any) -> bytes:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload)
    if hasattr(upload, "size") and upload.size > MAX_BYTES:
        raise DomainError(
            _("照片不能超过 10 MB (photo larger than 10 MB)"), field="photos", code="too_large"
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    data: bytes = upload.read(MAX_BYTES + 1)
    return data


def _refuse(message: str, code: str) -> DomainError:
    return DomainError(message, field="photos", code=code)


def clean_photos(uploads: Sequence[Any]) -> list[CleanPhoto]:
    """Every upload checked and re-encoded; a refusal of one of several says which it is."""
    cleaned = []
    for number, upload in enumerate(uploads, start=1):
        try:
            cleaned.append(clean_photo(upload))
        except DomainError as exc:
            if len(uploads) == 1:
                raise
            name = str(getattr(upload, "name", "") or "")[-40:]
            which = (
                _("第 %(n)d 张照片（%(name)s）") % {"n": number, "name": name}
                if name
                else _("第 %(n)d 张照片") % {"n": number}
            )
            raise DomainError(
                _("%(which)s：%(message)s") % {"which": which, "message": exc.message},
                field=exc.field,
                code=exc.code,
            ) from None
    return cleaned


def clean_photo(upload: Any) -> CleanPhoto:
    """Check one upload by its content and re-encode it without metadata (orientation kept)."""
    raw = _read(upload)
    if len(raw) > MAX_BYTES:
        raise _refuse(_("照片不能超过 10 MB (photo larger than 10 MB)"), "too_large")
    not_an_image = _("文件不是有效的图片，请重新拍照或选择 JPEG/PNG/WebP 图片 (not a valid image)")
    try:
        with warnings.catch_warnings():
            # Too many pixels is refused below, with a message; Pillow's warning adds nothing.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                fmt = probe.format
                pixels = probe.width * probe.height
                probe.verify()
    except Image.DecompressionBombError:
        raise _refuse(_("图片像素过大 (image has too many pixels)"), "too_large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse(not_an_image, "bad_type") from None
    if fmt not in ALLOWED:
        raise _refuse(_("只支持 JPEG、PNG 或 WebP 图片 (only JPEG, PNG or WebP)"), "bad_type")
    # Checked before decoding: a small file can expand to gigabytes of pixels.
    if pixels > MAX_PIXELS:
        raise _refuse(_("图片像素过大 (image has too many pixels)"), "too_large")
    try:
        image: Image.Image = Image.open(io.BytesIO(raw))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse(not_an_image, "bad_type") from None
    orientation = image.getexif().get(ORIENTATION_TAG)
    # Re-encoding from pixels drops every other metadata block (GPS, device, comments, XMP).
    if image.mode.startswith("I"):  # 16/32-bit greyscale: scale down, not clip
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    grey = image.mode in ("1", "L")
    mode = "RGBA" if has_alpha and fmt != "JPEG" else "L" if grey else "RGB"
    pixels_only = image.convert(mode)
    clean = Image.new(mode, pixels_only.size)
    clean.paste(pixels_only)
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION_TAG] = orientation
    save_kwargs: dict[str, Any] = {"exif": exif.tobytes()} if orientation else {}
    if fmt in ("JPEG", "WEBP"):
        save_kwargs["quality"] = 85
    out = io.BytesIO()
    clean.save(out, format=fmt, **save_kwargs)
    # The thumbnail is shown as is: turn it upright.
    upright = TRANSPOSE.get(orientation or 1)
    thumb = pixels_only.transpose(upright) if upright is not None else pixels_only
    if thumb.mode == "RGBA":  # transparent areas on white, not black
        background = Image.new("RGB", thumb.size, "white")
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    thumb = thumb.convert("RGB")
    thumb.thumbnail(THUMB_SIZE)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    data = out.getvalue()
    return CleanPhoto(
        data=data,
        thumbnail=thumb_out.getvalue(),
        extension=ALLOWED[fmt],
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def store_files(
    cleaned: Sequence[CleanPhoto], *, case: Any, actor: Any, is_public: bool
) -> list[Any]:
    """Write the files of checked photos; the rows (unsaved) are for the caller to save. If it
    cannot, `delete_stored` removes the files again."""
    from wangge.cases.models import CasePhoto

    stored = []
    try:
        for photo in cleaned:
            name = uuid.uuid4().hex
            row = CasePhoto(
                case=case,
                width=photo.width,
                height=photo.height,
                size_bytes=len(photo.data),
                sha256=photo.sha256,
                is_public=is_public,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
            )
            stored.append(row)
            row.image.save(f"{name}.{photo.extension}", ContentFile(photo.data), save=False)
            row.thumbnail.save(f"{name}_t.jpg", ContentFile(photo.thumbnail), save=False)
    except BaseException:
        delete_stored(stored)
        raise
    return stored


def delete_stored(rows: Sequence[Any]) -> None:
    """Remove the files of photo rows that were not (or will not be) saved."""
    for row in rows:
        for file in (row.image, row.thumbnail):
            if file.name:
                file.storage.delete(file.name)


def store_photos(
    *, case: Any, event: Any, files: Sequence[Any], actor: Any, is_public: bool
) -> list[Any]:
    """Validate every file first, then store them: a bad file stores none. Call inside the
    transaction that writes `event`."""
    stored = store_files(clean_photos(files), case=case, actor=actor, is_public=is_public)
    try:
        for row in stored:
            row.event = event
            row.save()
    except BaseException:
        delete_stored(stored)
        raise
    return stored


def orphan_files(*, older_than: timedelta, now: datetime | None = None) -> list[str]:
    """Stored photo files (under cases/) that no CasePhoto row names and that are older than
    `older_than`: left by a transaction that rolled back after writing them (a transition with
    photos whose later step failed). Younger files may belong to a write still under way."""
    from django.core.files.storage import default_storage

    from wangge.cases.models import CasePhoto

    cutoff = (now or timezone.now()) - older_than
    known: set[str] = set()
    for image, thumbnail in CasePhoto.objects.values_list("image", "thumbnail").iterator():
        known.update((image, thumbnail))
    found = []
    folders = ["cases"]
    while folders:
        folder = folders.pop()
        if not default_storage.exists(folder):
            continue
        subfolders, files = default_storage.listdir(folder)
        folders.extend(f"{folder}/{name}" for name in subfolders)
        for name in files:
            path = f"{folder}/{name}"
            if path not in known and default_storage.get_modified_time(path) < cutoff:
                found.append(path)
    return sorted(found)


def delete_orphan_files(*, older_than: timedelta) -> list[str]:
    """Delete what `orphan_files` finds; returns the deleted names."""
    from django.core.files.storage import default_storage

    found = orphan_files(older_than=older_than)
    for path in found:
        default_storage.delete(path)
    return found
