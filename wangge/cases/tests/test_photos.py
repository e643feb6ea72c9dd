"""Case photos: checked by content, size and count; re-encoded without metadata except the
orientation; thumbnails; served only to people who may see the case."""

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from wangge.accounts.models import Role
from wangge.accounts.tests.factories import UserFactory, member
from wangge.cases import actions
from wangge.cases.models import Case, CasePhoto
from wangge.cases.photos import MAX_BYTES, MAX_PER_CASE, THUMB_SIZE, clean_photo
from wangge.cases.tests.helpers import GRID, case_in, category, report
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import World, login_as
from wangge.territory.tests.factories import center_of

ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = ExifTags.IFD.GPSInfo


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format=fmt, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg_with_exif(size: tuple[int, int] = (1200, 800)) -> bytes:
    """A camera JPEG: device make, GPS position and orientation 6 (turn 90° clockwise)."""
    exif = Image.Exif()
    exif[MAKE] = "Canon"
    exif[ORIENTATION] = 6
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 26.0)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 29.0)
    return image_bytes("JPEG", size, exif=exif.tobytes())


def refused(data: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        clean_photo(data)
    return caught.value


# --- content checks ---------------------------------------------------------------------------


def test_it_accepts_a_png_named_jpg_and_stores_it_as_png(world: World) -> None:
    case = report(world, photos=[upload(image_bytes("PNG"), "IMG_0001.jpg")])

    photo = case.photos.get()
    assert photo.image.name.endswith(".png")
    with photo.image.open("rb") as f, Image.open(f) as stored:
        assert stored.format == "PNG"


def test_it_accepts_webp(world: World) -> None:
    cleaned = clean_photo(upload(image_bytes("WEBP"), "a.webp", "image/webp"))
    assert cleaned.extension == "webp"


def test_it_refuses_a_text_file_named_jpg_naming_the_photos_field() -> None:
    error = refused(upload(b"hello, this is not a picture\n" * 20, "scan.jpg"))

    assert error.field == "photos"
    assert error.code == "bad_type"
    assert "JPEG/PNG/WebP" in error.message


def test_the_report_page_shows_the_photo_error_on_the_photos_field(client, world: World) -> None:
    login_as(client, world.users["grid_worker"])
    page = client.get(reverse("cases:report"))
    key = page.context["form"].initial["idempotency_key"]
    lon, lat = center_of(world.unit(GRID))
    response = client.post(
        reverse("cases:report"),
        {
            "category": category().pk,
            "title": "垃圾堆积",
            "lon": lon,
            "lat": lat,
            "idempotency_key": key,
            "photos": upload(b"not an image at all", "photo.jpg"),
        },
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-field="photos"' in body
    assert "照片：" in body
    assert not Case.objects.exists()


def test_it_refuses_a_gif() -> None:
    assert refused(upload(image_bytes("GIF"), "a.gif", "image/gif")).code == "bad_type"


def test_it_refuses_a_file_over_10_mb() -> None:
    big = upload(b"\xff\xd8" + b"0" * MAX_BYTES, "huge.jpg")
    error = refused(big)
    assert (error.field, error.code) == ("photos", "too_large")


def test_it_refuses_a_decompression_bomb() -> None:
    # A few kilobytes that would decode to 64 million pixels.
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")
    assert len(out.getvalue()) < 100_000

    error = refused(upload(out.getvalue(), "bomb.png", "image/png"))
    assert (error.field, error.code) == ("photos", "too_large")


def test_it_refuses_a_huge_decompression_bomb_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, format="PNG")

    assert refused(upload(out.getvalue(), "bomb.png", "image/png")).code == "too_large"


# --- counts --------------------------------------------------------------------------------


def test_it_refuses_a_tenth_photo(world: World) -> None:
    photos = [upload(image_bytes(), f"{i}.jpg") for i in range(MAX_PER_CASE)]
    case = case_in(world, "in_progress", photos=photos)
    assert case.photos.count() == MAX_PER_CASE

    with pytest.raises(DomainError) as caught:
        actions.handle(
            case_id=case.pk,
            actor=world.users["department_handler"],
            result="已清运",
            photos=[upload(image_bytes(), "10.jpg")],
        )

    assert (caught.value.field, caught.value.code) == ("photos", "too_many")
    case.refresh_from_db()
    assert case.status == "in_progress"
    assert case.photos.count() == MAX_PER_CASE


def test_it_refuses_ten_photos_in_one_report(world: World) -> None:
    photos = [upload(image_bytes(), f"{i}.jpg") for i in range(MAX_PER_CASE + 1)]
    with pytest.raises(DomainError) as caught:
        report(world, photos=photos)
    assert caught.value.field == "photos"
    assert not Case.objects.exists()


def test_one_bad_file_stores_none_of_the_batch_and_is_named(world: World) -> None:
    with pytest.raises(DomainError) as exc:
        report(world, photos=[upload(image_bytes()), upload(image_bytes("GIF"), "b.gif")])
    assert not CasePhoto.objects.exists()
    # Which of the photos: the second, by its file name.
    assert exc.value.field == "photos"
    assert exc.value.message.startswith("第 2 张照片（b.gif）：只支持 JPEG、PNG 或 WebP 图片")


# --- metadata and thumbnails ---------------------------------------------------------------


def test_re_encoding_drops_gps_and_make_but_keeps_the_orientation() -> None:
    original = jpeg_with_exif()
    with Image.open(io.BytesIO(original)) as before:
        exif = before.getexif()
        assert exif[MAKE] == "Canon"
        assert exif.get_ifd(GPS_IFD)
        assert exif[ORIENTATION] == 6

    cleaned = clean_photo(upload(original))

    with Image.open(io.BytesIO(cleaned.data)) as after:
        exif = after.getexif()
        assert exif.get(ORIENTATION) == 6
        assert MAKE not in exif
        assert GPS_IFD not in exif
        assert not exif.get_ifd(GPS_IFD)
        assert after.size == (1200, 800)
        assert "icc_profile" not in after.info


def test_a_photo_without_orientation_gets_no_exif_at_all() -> None:
    cleaned = clean_photo(upload(image_bytes()))
    with Image.open(io.BytesIO(cleaned.data)) as after:
        assert not after.getexif()


def test_the_thumbnail_is_at_most_480_px_and_upright() -> None:
    cleaned = clean_photo(upload(jpeg_with_exif((2000, 1000))))

    with Image.open(io.BytesIO(cleaned.thumbnail)) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= max(THUMB_SIZE) == 480
        # Orientation 6: the 2000×1000 landscape sensor image is a portrait picture.
        assert thumb.size == (240, 480)


def test_a_transparent_png_keeps_its_alpha_and_gets_a_white_thumbnail() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(out, format="PNG")
    cleaned = clean_photo(upload(out.getvalue(), "a.png", "image/png"))

    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.mode == "RGBA"
    with Image.open(io.BytesIO(cleaned.thumbnail)) as thumb:
        assert thumb.getpixel((5, 5)) == (255, 255, 255)


# --- serving -------------------------------------------------------------------------------


@pytest.fixture
def photo(world: World) -> CasePhoto:
    case = report(world, photos=[upload(image_bytes("PNG"), "a.jpg")])
    return case.photos.get()


def test_a_user_in_scope_gets_the_photo_and_its_thumbnail(client, world: World, photo) -> None:
    login_as(client, world.users["grid_worker"])

    full = client.get(reverse("cases:photo", args=[photo.pk, "full"]))
    thumb = client.get(reverse("cases:photo", args=[photo.pk, "thumb"]))

    assert full.status_code == 200
    assert full["Content-Type"] == "image/png"
    assert full["Cache-Control"] == "private, max-age=3600"
    assert b"".join(full.streaming_content).startswith(b"\x89PNG")
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"


def test_the_photo_is_404_for_a_user_outside_the_case_scope(client, world: World, photo) -> None:
    other = report(world, grid="110101002002002")
    assert other.grid_code != photo.case.grid_code
    # A grid worker of another street: the case does not exist for them.
    stranger = UserFactory()
    member(stranger, Role.GRID_WORKER, unit=world.unit("110101002002002"))
    for user in (stranger, world.users["nobody"], world.users["resident"]):
        login_as(client, user)
        assert client.get(reverse("cases:photo", args=[photo.pk, "full"])).status_code == 404
        assert client.get(reverse("cases:photo", args=[photo.pk, "thumb"])).status_code == 404


def test_the_photo_is_not_served_to_anonymous_visitors(client, photo) -> None:
    response = client.get(reverse("cases:photo", args=[photo.pk, "full"]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_unknown_size_is_404(client, world: World, photo) -> None:
    login_as(client, world.users["superuser"])
    assert client.get(f"/cases/photos/{photo.pk}/original/").status_code == 404


# --- orphan files ----------------------------------------------------------------------------


def test_cleanup_deletes_old_photo_files_no_row_names_and_keeps_the_rest(
    world: World, settings: Any, tmp_path: Any
) -> None:
    import os
    import time

    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path
    case = report(world, photos=[image_bytes("JPEG")])
    kept = case.photos.get()
    folder = tmp_path / "cases" / "2020" / "01"
    folder.mkdir(parents=True)
    old_orphan, young_orphan = folder / "old.jpg", folder / "young.jpg"
    old_orphan.write_bytes(b"x")
    young_orphan.write_bytes(b"x")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old_orphan, (two_days_ago, two_days_ago))
    for name in (kept.image.name, kept.thumbnail.name):
        os.utime(tmp_path / name, (two_days_ago, two_days_ago))

    out = io.StringIO()
    call_command("cleanup_orphan_photos", "--dry-run", stdout=out)
    assert "would delete 1" in out.getvalue() and old_orphan.exists()
    call_command("cleanup_orphan_photos", stdout=io.StringIO())
    assert not old_orphan.exists()
    assert young_orphan.exists()
    assert (tmp_path / kept.image.name).exists() and (tmp_path / kept.thumbnail.name).exists()
