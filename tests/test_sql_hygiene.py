"""No SQL is built by string formatting in product code: values go as parameters, names through
psycopg.sql composition. Checked on the syntax tree of every product module, so a new
``conn.execute(f"... {value}")`` fails here with its file and line before it reaches a review.

Text made only of constants is fine however it is put together: long statements are assembled
at import time from literal pieces (kpi/queries.py), and a module function called with literals
only (``_open_at_now("SELECT ...")``) counts as a constant too. Names are followed to their
assignments in the enclosing functions, then in the module."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
RUNNERS = frozenset({"execute", "executemany", "copy"})  # cursor/connection methods taking SQL
COMPOSERS = frozenset({"SQL"})  # psycopg.sql.SQL(...): its text must itself be a constant


def product_files() -> list[Path]:
    """Every .py file of the packages pyproject.toml ships (not tests/, not .stack/)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted({pattern.split(".")[0] for pattern in patterns})
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def string_built_sql(source: str, filename: str = "<snippet>") -> list[str]:
    """``file:line`` of every SQL runner (or sql.SQL) whose text is built by string formatting."""
    tree = ast.parse(source, filename)
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    checker = _Checker(_module_assignments(tree), functions)
    checker.visit(tree)
    return [f"{filename}:{line}" for line in checker.offences]


def _module_assignments(tree: ast.Module) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for node in tree.body:
        for name, value in _assignments(node):
            found.setdefault(name, []).append(value)
    return found


def _assignments(node: ast.stmt) -> Iterator[tuple[str, ast.expr]]:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id, node.value
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        yield node.target.id, node.value
    elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        yield node.target.id, ast.BinOp(ast.Name(node.target.id), node.op, node.value)


class _Checker(ast.NodeVisitor):
    def __init__(self, module: dict[str, list[ast.expr]], functions: set[str]) -> None:
        self.module = module
        self.functions = functions  # the module's own functions: called with constants, a constant
        self.scopes: list[dict[str, list[ast.expr]]] = []  # assignments of the enclosing functions
        self.offences: list[int] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        local: dict[str, list[ast.expr]] = {}
        for statement in ast.walk(node):
            if isinstance(statement, ast.stmt):
                for name, value in _assignments(statement):
                    local.setdefault(name, []).append(value)
        self.scopes.append(local)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        name = _called_name(node)
        if node.args and (name in RUNNERS or name in COMPOSERS) and self._built(node.args[0], set()):
            self.offences.append(node.lineno)
        self.generic_visit(node)

    def _values(self, name: str) -> list[ast.expr]:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return self.module.get(name, [])

    def _built(self, node: ast.expr, seen: set[str]) -> bool:
        """Whether ``node`` is SQL text made by formatting (following names to their assignments)."""
        if self._constant(node, seen):
            return False
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return self._stringy(node.left, seen)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return any(
                self._stringy(side, seen) or self._built(side, seen) for side in (node.left, node.right)
            )
        if isinstance(node, ast.Call) and _called_name(node) == "format":
            receiver = node.func.value  # type: ignore[attr-defined]
            return not self._composed(receiver, seen)
        if isinstance(node, ast.IfExp):
            return self._built(node.body, seen) or self._built(node.orelse, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            return any(self._built(value, seen | {node.id}) for value in self._values(node.id))
        return False

    def _constant(self, node: ast.expr, seen: set[str]) -> bool:
        """Text (or a value put into it) fixed when the module is written: no input can reach it."""
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            values = self._values(node.id) if node.id not in seen else []
            return bool(values) and all(self._constant(value, seen | {node.id}) for value in values)
        if isinstance(node, ast.BinOp):
            return self._constant(node.left, seen) and self._constant(node.right, seen)
        if isinstance(node, ast.JoinedStr):
            return all(
                self._constant(part.value if isinstance(part, ast.FormattedValue) else part, seen)
                for part in node.values
            )
        if isinstance(node, ast.Tuple):
            return all(self._constant(item, seen) for item in node.elts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
            arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
            return all(self._constant(argument, seen) for argument in arguments)
        return False

    def _stringy(self, node: ast.expr, seen: set[str]) -> bool:
        """A str literal, f-string, or a name bound to one."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.Name) and node.id not in seen:
            return any(self._stringy(value, seen | {node.id}) for value in self._values(node.id))
        return isinstance(node, ast.BinOp) and (
            self._stringy(node.left, seen) or self._stringy(node.right, seen)
        )

    def _composed(self, node: ast.expr, seen: set[str]) -> bool:
        """A psycopg.sql.SQL(...) object (or a name bound to one): its .format() is safe composition."""
        if isinstance(node, ast.Call):
            return _called_name(node) in COMPOSERS
        if isinstance(node, ast.Name) and node.id not in seen:
            values = self._values(node.id)
            return bool(values) and all(self._composed(value, seen | {node.id}) for value in values)
        return False


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


# --- the checker can fail ---------------------------------------------------------------------

BAD = """
TABLE = "events"
def f(conn, cur, unit, table):
    conn.execute(f"SELECT * FROM events WHERE unit_code = '{unit}'")
    cur.execute("SELECT * FROM events WHERE unit_code = '%s'" % unit)
    cur.executemany("DELETE FROM " + table, [])
    conn.execute("SELECT * FROM {}".format(table))
    query = "SELECT count(*) FROM " + TABLE + " WHERE unit_code = " + unit
    conn.execute(query)
    with cur.copy(f"COPY {table} FROM STDIN") as copy:
        pass
    conn.execute(sql.SQL(f"SELECT * FROM {table}"))
"""

GOOD = '''
from psycopg import sql
QUERY = "SELECT * FROM events WHERE unit_code = %s"
TABLE = "events"
LONG = "SELECT * " + "FROM " + TABLE + """
 WHERE x = %s"""
def piece(condition):
    return "SELECT * FROM events WHERE " + condition
COUNT = sql.SQL("SELECT count(*) FROM {}")
def f(conn, cur, unit, table, rows):
    conn.execute(QUERY, (unit,))
    cur.execute("SELECT %(u)s", {"u": unit})
    cur.executemany(QUERY, rows)
    conn.execute(sql.SQL("SELECT * FROM {} WHERE x = %s").format(sql.Identifier(table)), (unit,))
    conn.execute(COUNT.format(sql.Identifier(table)))
    conn.execute(sql.SQL("SELECT 1") + sql.SQL(" UNION SELECT 2"))
    conn.execute("SELECT 1 "  "FROM t")
    conn.execute(LONG, (unit,))
    conn.execute(piece("x = %s"), (unit,))
    conn.execute(f"SELECT * FROM {TABLE} WHERE x = %s", (unit,))
    with cur.copy("COPY events FROM STDIN") as copy:
        pass
    settings = config.copy()
    data = copy.copy(rows)
'''


def test_the_checker_flags_every_kind_of_string_built_sql() -> None:
    assert string_built_sql(BAD) == [f"<snippet>:{line}" for line in (4, 5, 6, 7, 9, 10, 12)]


def test_the_checker_accepts_parameters_constants_and_psycopg_composition() -> None:
    assert string_built_sql(GOOD) == []


def test_the_scan_covers_the_product_packages() -> None:
    files = {path.relative_to(ROOT).parts[0] for path in product_files()}
    assert {"ingest", "kpi", "store", "alerts", "dashboard"} <= files
    assert "tests" not in files
    assert ".stack" not in files


def test_no_product_module_builds_sql_from_strings() -> None:
    offences = [
        offence
        for path in product_files()
        for offence in string_built_sql(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert offences == [], "SQL built by string formatting (use parameters or psycopg.sql):\n" + "\n".join(
        offences
    )
