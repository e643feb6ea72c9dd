"""An import's state from the upload through the dry run and the import to the page polling it.

The state is a small dict in Django's cache (a day); the uploaded workbook and the list of every
bad cell are files in the default storage under `ledger-imports/`, named by an unguessable
token and removed when no longer needed (or a day later). With a task worker in another process
the cache must be shared (CACHE_URL, as the rate limits need anyway): a system check says so.
Tasks take the token and call `run_check` / `run_import`; both are enqueued after commit.
"""

import logging
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from wangge.core.errors import Conflict, DomainError
from wangge.registry.ledgers import importer, sheets
from wangge.registry.ledgers.importer import CellError, LedgerResult

logger = logging.getLogger(__name__)

JOB_TTL = timedelta(days=1)
CACHE_PREFIX = "registry:ledger-job:"
STORAGE_DIR = "ledger-imports"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# How often a running job writes its progress, in rows (one batch).
PROGRESS_EVERY = importer.BATCH_SIZE

CHECKING = "checking"
CHECKED = "checked"
IMPORTING = "importing"
DONE = "done"
FAILED = "failed"
RUNNING = frozenset({CHECKING, IMPORTING})


@dataclass
class LedgerJob:
    token: str
    user_id: int
    filename: str
    upload: str
    status: str = CHECKING
    total: int | None = None
    processed: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_file: str = ""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Residents the import would move or rename (importer.RowNotice), for the uploader to check.
    notices: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    created_at: str = ""
    updated_at: str = ""

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING

    @property
    def can_import(self) -> bool:
        return self.status == CHECKED and self.error_count == 0 and bool(self.upload)

    @property
    def percent(self) -> int:
        if self.status in (CHECKED, DONE):
            return 100
        if not self.total:
            return 0
        return min(99, round(100 * self.processed / self.total))

    @property
    def sheet_counts(self) -> list[dict[str, Any]]:
        """Per sheet present: label, created, updated, unchanged (for the page)."""
        rows = []
        for spec in sheets.SHEETS:
            if spec.key in self.counts:
                rows.append({"label": spec.label, **self.counts[spec.key]})
        return rows

    @property
    def moved_or_renamed(self) -> list[dict[str, Any]]:
        """Per sheet with residents that would move or be renamed: label, moved, renamed."""
        return [c for c in self.sheet_counts if c.get("moved") or c.get("renamed")]

    @property
    def error_list(self) -> list[CellError]:
        return [CellError(**e) for e in self.errors]


def _key(token: str) -> str:
    return CACHE_PREFIX + token


def _save(job: LedgerJob) -> None:
    job.updated_at = timezone.now().isoformat()
    cache.set(_key(job.token), asdict(job), int(JOB_TTL.total_seconds()))


def _load(token: str) -> LedgerJob | None:
    data = cache.get(_key(token)) if token.replace("-", "").replace("_", "").isalnum() else None
    return LedgerJob(**data) if data else None


def job_get(*, user: Any, token: str) -> LedgerJob:
    """The user's own job; anyone else's (or an expired one) does not exist."""
    job = _load(token)
    if job is None or job.user_id != user.pk:
        raise Http404("import not found")
    return job


# --- starting -------------------------------------------------------------------------------


def start_check(*, actor: Any, upload: UploadedFile) -> LedgerJob:
    """Keep the uploaded workbook and enqueue its dry run (after commit)."""
    name = upload.name or ""
    if not name.lower().endswith(".xlsx"):
        raise DomainError(
            _("请上传 .xlsx 格式的 Excel 文件 (file: an .xlsx workbook)"), field="file"
        )
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise DomainError(
            _("文件不能超过 %(mb)d MB，请分成几个文件 (file: at most %(mb)d MB)")
            % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
            field="file",
        )
    _purge_old_files()
    token = secrets.token_urlsafe(24)
    stored = default_storage.save(f"{STORAGE_DIR}/{token}.xlsx", upload)
    now = timezone.now().isoformat()
    job = LedgerJob(
        token=token,
        user_id=actor.pk,
        filename=name[-100:],
        upload=stored,
        created_at=now,
    )
    _save(job)
    from wangge.registry.tasks import check_ledger_task

    language = translation.get_language()
    transaction.on_commit(lambda: check_ledger_task.enqueue(token, language=language))
    return job


def start_import(*, actor: Any, token: str) -> LedgerJob:
    """Enqueue the import of a file whose dry run found nothing wrong (after commit)."""
    job = job_get(user=actor, token=token)
    lock = _key(token) + ":start"
    if not job.can_import or not cache.add(lock, 1, int(JOB_TTL.total_seconds())):
        raise Conflict(
            _("该文件未通过检查或已在导入 (this file has not passed the check or is importing)")
        )
    job.status = IMPORTING
    job.processed = 0
    _save(job)
    from wangge.registry.tasks import import_ledger_task

    language = translation.get_language()
    transaction.on_commit(lambda: import_ledger_task.enqueue(token, language=language))
    return job


# --- running (inside tasks) -----------------------------------------------------------------


class _ErrorReport:
    """Every bad cell, streamed into a write-only workbook as it is found."""

    def __init__(self) -> None:
        self.file: Any = None
        self.workbook: Any = None
        self.sheet: Any = None

    def add(self, error: CellError) -> None:
        if self.workbook is None:
            self.workbook = Workbook(write_only=True)
            self.sheet = self.workbook.create_sheet(str(_("错误清单")))
            self.sheet.append(
                [str(_("表")), str(_("行")), str(_("列")), str(_("值")), str(_("原因"))]
            )
        self.sheet.append([error.sheet, error.row, error.column, error.value, error.message])

    def store(self, token: str) -> str:
        if self.workbook is None:
            return ""
        with tempfile.TemporaryFile() as handle:
            self.workbook.save(handle)
            handle.seek(0)
            return default_storage.save(f"{STORAGE_DIR}/{token}-errors.xlsx", File(handle))


def _finish(job: LedgerJob, result: LedgerResult, report: _ErrorReport) -> None:
    job.processed = result.rows
    job.error_count = result.error_count
    job.errors = [e.as_dict() for e in result.errors]
    job.counts = {key: asdict(c) for key, c in result.counts.items()}
    job.notices = [n.as_dict() for n in result.notices]
    if job.errors_file:
        default_storage.delete(job.errors_file)
    job.errors_file = report.store(job.token)


def _run(token: str, *, write: bool) -> LedgerJob | None:
    job = _load(token)
    if job is None:
        logger.warning("ledger job %s expired before it ran", token)
        return None
    actor = get_user_model().objects.filter(pk=job.user_id, is_active=True).first()
    report = _ErrorReport()

    def progress(rows: int, total: int | None) -> None:
        job.processed = rows
        job.total = total
        _save(job)

    try:
        if actor is None or not default_storage.exists(job.upload):
            job.status = FAILED
            job.message = _("文件已过期，请重新上传 (the upload has expired: upload it again)")
            _save(job)
            return job
        run = importer.import_ledger if write else importer.check_ledger
        with default_storage.open(job.upload, "rb") as source:
            result = run(actor=actor, source=source, on_error=report.add, progress=progress)
        _finish(job, result, report)
        if write:
            job.status = DONE if result.written else FAILED
        else:
            job.status = CHECKED
        if job.status != CHECKED or job.error_count:
            # Nothing more will be done with this file.
            default_storage.delete(job.upload)
            job.upload = ""
        _save(job)
        return job
    except Exception:
        job.status = FAILED
        job.message = _(
            "处理文件时出错，未写入任何数据；请稍后重试或联系管理员"
            " (an internal error: nothing was written; try again later)"
        )
        _save(job)
        raise


def run_check(*, token: str) -> LedgerJob | None:
    return _run(token, write=False)


def run_import(*, token: str) -> LedgerJob | None:
    return _run(token, write=True)


def _purge_old_files() -> None:
    """Remove uploads and error lists older than a job lives."""
    cutoff = timezone.now() - JOB_TTL
    try:
        _dirs, files = default_storage.listdir(STORAGE_DIR)
    except FileNotFoundError:
        return
    for name in files:
        path = f"{STORAGE_DIR}/{name}"
        try:
            modified: datetime = default_storage.get_modified_time(path)
        except (FileNotFoundError, NotImplementedError):
            continue
        if modified < cutoff:
            default_storage.delete(path)


def error_file(*, user: Any, token: str) -> tuple[LedgerJob, Any]:
    """The job and its full error list (an open file), for its owner."""
    job = job_get(user=user, token=token)
    if not job.errors_file or not default_storage.exists(job.errors_file):
        raise Http404("no error list")
    return job, default_storage.open(job.errors_file, "rb")
