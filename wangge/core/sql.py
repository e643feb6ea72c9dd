"""Plain SQL for hot paths, derived from the models' _meta so that it cannot drift from the schema.

`Insert(Model)` writes the INSERT that `Model.objects.create()` would write (the same columns,
the same `pre_save` and `get_db_prep_save` of each field), without building a query object;
a column's value may instead be an SQL expression (for example the id returned by an earlier
part of a data-modifying WITH). `Columns(Model, alias, fields)` selects a model's columns in a
hand-written SELECT and turns the values back into an instance with the backend's and the
fields' converters applied, as a QuerySet would.

Only quoted identifiers from _meta and constant SQL given by the caller are interpolated: every
value is a parameter.
"""

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any

from django.db import connections, transaction
from django.db.models import DateField, DateTimeField, Field, Model
from django.db.models.base import ModelState
from django.db.models.fields import AutoFieldMixin
from django.db.models.signals import post_init, pre_init

# Internal types whose get_db_prep_save returns a str/int/float/bool (or None) unchanged on
# every backend: the per-field call is skipped for them (it is most of the cost of an INSERT's
# parameters). Anything else goes through the field, as the ORM would send it.
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "EmailField",
        "FloatField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
    }
)
_PLAIN_VALUES = (str, int, float, bool)


def _is_plain(field: Field[Any, Any]) -> bool:
    if field.get_internal_type() not in _PLAIN_TYPES:
        return False
    target = getattr(field, "target_field", None)
    return target is None or target.get_internal_type() in _PLAIN_TYPES


def _column(field: Any) -> str:
    """A concrete field's column (None only for fields without one, never chosen here)."""
    return str(field.column)


def _has_pre_save(field: Field[Any, Any]) -> bool:
    """Whether field.pre_save(obj, add=True) may differ from reading the attribute: a subclass
    overrides it, except a date/time field without auto_now(_add), whose override only acts
    for those."""
    if type(field).pre_save is Field.pre_save:
        return False
    if isinstance(field, DateField) and not (field.auto_now or field.auto_now_add):
        return type(field).pre_save not in (DateField.pre_save, DateTimeField.pre_save)
    return True


class Insert:
    """One row of `model` as `INSERT INTO table (columns) VALUES (…)`, like Model.save() on add."""

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        self.model = model
        # The fields Django's _do_insert writes: every local concrete field but an unset auto pk.
        self.fields: list[Field[Any, Any]] = [
            f
            for f in meta.local_concrete_fields
            if not getattr(f, "generated", False)
            and not (f.primary_key and isinstance(f, AutoFieldMixin))
        ]
        # Per field: (attname, whether pre_save does more than read the attribute, plain).
        self._steps = [(f.attname, _has_pre_save(f), _is_plain(f)) for f in self.fields]
        self._sql: dict[tuple[str, tuple[str, ...], bool, str], str] = {}

    def sql(
        self,
        *,
        using: str = "default",
        exprs: Iterable[str] = (),
        returning: bool = True,
        select: str = "",
    ) -> str:
        """The statement; columns (attnames) named in `exprs` take SQL given to `params`.

        `select`: SQL to follow the values in `INSERT … SELECT values {select}` instead of
        `VALUES (values)`, e.g. "FROM t" or "WHERE …" (then the row is written only if t has
        one, or the condition holds; its parameters follow the row's)."""
        key = (using, tuple(sorted(exprs)), returning, select)
        sql = self._sql.get(key)
        if sql is None:
            connection = connections[using]
            q = connection.ops.quote_name
            names = ", ".join(q(_column(f)) for f in self.fields)
            values = ", ".join(
                "{" + f.attname + "}" if f.attname in key[1] else "%s" for f in self.fields
            )
            rows = f"SELECT {values} {select}" if select else f"VALUES ({values})"
            sql = f"INSERT INTO {q(self.model._meta.db_table)} ({names}) {rows}"
            if returning:
                sql += f" RETURNING {q(_column(self.model._meta.pk))}"
            self._sql[key] = sql
        return sql

    def params(self, obj: Model, *, using: str = "default", skip: Iterable[str] = ()) -> list[Any]:
        """The values of `obj` in column order (pre_save applied, as on add), leaving out `skip`
        (the columns given as SQL)."""
        connection = connections[using]
        skipped = set(skip)
        values = []
        for field, (attname, pre_save, plain) in zip(self.fields, self._steps, strict=True):
            if attname in skipped:
                continue
            value = field.pre_save(obj, True) if pre_save else getattr(obj, attname)
            if value is None or (plain and type(value) in _PLAIN_VALUES):
                values.append(value)
            else:
                values.append(field.get_db_prep_save(value, connection=connection))
        return values

    def statement(
        self,
        obj: Model,
        *,
        using: str = "default",
        exprs: dict[str, str] | None = None,
        returning: bool = True,
        select: str = "",
    ) -> tuple[str, list[Any]]:
        """(sql, params) for `obj`, with the SQL of `exprs` (attname → SQL) filled in; `select`
        as in `sql` (without parameters of its own)."""
        exprs = exprs or {}
        sql = self.sql(using=using, exprs=exprs, returning=returning, select=select)
        if exprs:
            sql = sql.format(**exprs)
        return sql, self.params(obj, using=using, skip=exprs)


Converter = Callable[[Any, Any, Any], Any]


class Columns:
    """Some concrete columns of `model` under `alias` in a hand-written SELECT, and back."""

    def __init__(self, model: type[Model], alias: str, fields: Sequence[str] | None = None) -> None:
        meta = model._meta
        self.model = model
        self.alias = alias
        names = {meta.pk.name, *(fields or [f.name for f in meta.concrete_fields])}
        # In the model's field order: Model.from_db fills the fields left out in that order.
        chosen = [f for f in meta.concrete_fields if f.name in names]
        self.fields: list[Field[Any, Any]] = chosen
        self.attnames = [f.attname for f in chosen]
        self._converters: dict[str, list[tuple[int, list[Converter], Any]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def sql(self, using: str = "default") -> str:
        q = connections[using].ops.quote_name
        return ", ".join(f"{q(self.alias)}.{q(_column(f))}" for f in self.fields)

    def _converters_for(self, using: str) -> list[tuple[int, list[Converter], Any]]:
        converters = self._converters.get(using)
        if converters is None:
            connection = connections[using]
            converters = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.alias)
                found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
                if found:
                    converters.append((i, found, col))
            self._converters[using] = converters
        return converters

    def load(self, values: Sequence[Any], *, using: str = "default") -> Any:
        """An instance from the selected values (None when the row was missing: a NULL pk)."""
        if values[0] is None:
            return None
        row = list(values)
        connection = connections[using]
        for i, converters, col in self._converters_for(using):
            value = row[i]
            for converter in converters:
                value = converter(value, col, connection)
            row[i] = value
        return self.model.from_db(using, self.attnames, row)


def fresh_copy[M: Model](obj: M) -> M:
    """A new instance of `obj`'s model with its field values, as loading the row again would
    give: its own state (no cached related objects, prefetches or other attributes set later),
    its own copy of every mutable value (a JSONField's lists and dicts). For a process's kept
    copy of a row (case intake's category, policy and units; API tokens): about a tenth of the
    cost of Model.from_db, which converts the raw values and runs __init__ again.

    A model with pre_init/post_init receivers (ImageField's, say) is loaded through __init__,
    so that they run as they would on a load."""
    model = type(obj)
    if _has_init_receivers(model):
        # Only the loaded fields, in field order: the deferred ones stay deferred.
        names = [f.attname for f in model._meta.concrete_fields if f.attname in obj.__dict__]
        return model.from_db(  # type: ignore[return-value]
            obj._state.db, names, [copy.deepcopy(obj.__dict__[n]) for n in names]
        )
    fields = _attnames(model)
    values = {
        name: (copy.deepcopy(value) if value else type(value)())
        if isinstance(value, (list, dict))
        else value
        for name, value in obj.__dict__.items()
        if name in fields
    }
    state = values["_state"] = ModelState()
    state.adding = False
    state.db = obj._state.db
    new = model.__new__(model)
    new.__dict__ = values
    return new


@cache
def _attnames(model: type[Model]) -> frozenset[str]:
    return frozenset(f.attname for f in model._meta.concrete_fields)


@cache
def _has_init_receivers(model: type[Model]) -> bool:
    # Receivers are connected when apps load (before any row is kept).
    return pre_init.has_listeners(model) or post_init.has_listeners(model)


def prepared_cursor(using: str = "default") -> Any:
    """A cursor for a hot path's fixed statements: on PostgreSQL each is parsed and planned once
    per connection (server-side binding, prepared), elsewhere an ordinary cursor.

    Planning cost more than running the intake's small lookups. The ORM's own queries keep
    Django's client-side binding. With DB_PREPARED_STATEMENTS=0 (a transaction-pooling
    PgBouncer older than 1.21) psycopg's prepare_threshold is None and nothing is prepared.
    Errors, logging (assertNumQueries) and execute wrappers are Django's as with any cursor.

    On PostgreSQL the connection keeps one such cursor and hands it out again once the last
    user closed it (the `with` block ended): a new psycopg cursor copies the connection's
    adapters and looks every parameter's dumper up again (the intake's write has well over a
    hundred parameters): about 0.1 ms of each intake. A cursor asked for while the kept one
    is open is a new one, so nested uses never share results.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    cursor = _kept_cursor(connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def _kept_cursor(connection: Any) -> Any:
    pg = connection.connection
    kept = connection.__dict__.get("_wangge_prepared_cursor")
    if kept is not None and kept.connection is pg and not kept.closed and not kept.in_use:
        kept.in_use = True
        return kept
    with connection.wrap_database_errors:
        cursor = _prepared_cursor_class()(pg)
    _match_timezone(connection, cursor)
    cursor.in_use = True
    if kept is None or kept.connection is not pg or kept.closed:
        # The first, or the connection was replaced: keep this one.
        connection.__dict__["_wangge_prepared_cursor"] = cursor
    else:
        cursor.kept = False
    return cursor


def _match_timezone(connection: Any, cursor: Any) -> None:
    # As Django's create_cursor: the cursor's timezone only where the connection's differs.
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    adapters = connection.connection.adapters
    loader = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)


_cursor_class: list[Any] = []


def _prepared_cursor_class() -> Any:
    if not _cursor_class:
        import psycopg

        class PreparedCursor(psycopg.RawCursor):  # type: ignore[type-arg]
            """psycopg's RawCursor (PostgreSQL's own $n placeholders: no parsing of the query
            in Python, which for a long statement cost more than running it), every statement
            prepared. Takes the %s placeholders Django's cursors take. The connection's kept
            cursor (`kept`) is not closed when its user closes it, only handed back."""

            in_use = False
            kept = True

            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                kwargs["prepare"] = True
                return super().execute(_numbered(query), params, **kwargs)

            def close(self) -> None:
                self.in_use = False
                if not self.kept:
                    super().close()

        _cursor_class.append(PreparedCursor)
    return _cursor_class[0]


@lru_cache(maxsize=256)
def _numbered(query: str) -> str:
    """%s placeholders as $1, $2, … (the statements given here have no other % sign)."""
    parts = query.split("%s")
    if any("%" in part for part in parts):
        raise ValueError("only %s placeholders are allowed in a prepared statement")
    out = [parts[0]]
    for n, part in enumerate(parts[1:], start=1):
        out.append(f"${n}")
        out.append(part)
    return "".join(out)


@contextmanager
def open_case_scan(using: str = "default") -> Iterator[None]:
    """Planner settings for the counts over every open case of a scope (the dashboard's
    即将超时/已超时 and the map), for queries evaluated inside (PostgreSQL; elsewhere nothing).

    - No bitmap scans: the planner ANDs two partial indexes of open cases whose predicates are
      the same `status IN (…)`, counts that selectivity twice, expects a few hundred rows and
      reads tens of thousands of table pages (160–240 ms at 10M cases) instead of the covering
      index `case_open_clock` alone (25–35 ms).
    - 32 MB to sort or hash the groups in memory (the default 4 MB spilled a district's
      grouping of 68,000 open cases to disk).
    The settings are local to the transaction this opens and put back on the way out (inside an
    outer transaction a savepoint's end would not undo them)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_bitmapscan'), current_setting('work_mem'), "
                "set_config('enable_bitmapscan', 'off', true), set_config('work_mem', '32MB', true)"
            )
            bitmap, work_mem, _a, _b = cursor.fetchone()
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('enable_bitmapscan', %s, true), "
                    "set_config('work_mem', %s, true)",
                    [bitmap, work_mem],
                )
