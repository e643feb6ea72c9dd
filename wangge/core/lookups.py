"""`codeprefix`: "this unit code lies under that one" as an index range.

Unit codes are materialised paths of digits (docs/decisions/0002), so a subtree is every code
that starts with the subtree's code. `__startswith` says that with LIKE, which PostgreSQL turns
into an index range only for columns in the "C" collation (databases are usually created in
C.UTF-8 or en_US.UTF-8) and SQLite only with case-sensitive LIKE: at millions of cases every
scoped query then filtered rows instead of seeking to them, and composite indexes that lead with
a code (status, grid_code, created_at, …) could not be used past their first column.

`code__codeprefix="110101"` is `code >= '110101' AND code < '110102'`: the same rows for strings
of digits, in every collation that orders digit strings digit by digit (C, C.UTF-8, glibc and ICU
locales, SQLite's BINARY). A prefix that is not all digits falls back to LIKE.
"""

from typing import Any

from django.db.models import CharField, Lookup
from django.db.models.lookups import StartsWith


def next_code(code: str) -> str | None:
    """The smallest digit string greater than every string starting with `code`, or None when
    there is none (`code` is all nines)."""
    digits = code.rstrip("9")
    if not digits:
        return None
    return digits[:-1] + str(int(digits[-1]) + 1)


@CharField.register_lookup
class CodePrefix(Lookup):
    lookup_name = "codeprefix"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        code = self.rhs
        if not isinstance(code, str) or not code.isdigit():
            return StartsWith(self.lhs, code).as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        upper = next_code(code)
        if upper is None:
            return f"{lhs} >= %s", [*lhs_params, code]
        return f"({lhs} >= %s AND {lhs} < %s)", [*lhs_params, code, *lhs_params, upper]
