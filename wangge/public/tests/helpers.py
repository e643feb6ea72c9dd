"""Shared pieces of the residents' tests."""

import io
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from wangge.cases.models import Category
from wangge.core.tests.fixtures import World
from wangge.territory.tests.factories import center_of

GRID = "110101001001001"


def jpeg(size: tuple[int, int] = (800, 600), color: tuple[int, int, int] = (90, 140, 200)) -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def photo(name: str = "scene.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else jpeg(), content_type="image/jpeg")


def garbage() -> Category:
    return Category.objects.get(code="exposed_garbage")


def submission(world: World, **overrides: Any) -> dict[str, Any]:
    """A complete 随手拍 form as the page would post it."""
    lon, lat = center_of(world.unit(GRID))
    data: dict[str, Any] = {
        "category": str(garbage().pk),
        "description": "小区东门口垃圾堆了三天没人清运\n气味很大",
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
        "address": "东门口",
        "name": "王女士",
        "phone": "13911112222",
        "key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
