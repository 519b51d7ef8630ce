"""statement-level references on PostgreSQL: event's and event_audit's foreign keys become set-based triggers

PostgreSQL checks a foreign key with a trigger per row: for a COPY'd event that was ~26 µs of server
time for event's three keys and ~15 µs for event_audit's, out of ~69 µs. These triggers check a whole
statement's rows at once from its transition tables, with the same guarantees: the referencing side
locks the referenced rows FOR KEY SHARE (as the per-row check does, so a concurrent DELETE waits and
then fails) and raises foreign_key_violation (23503) under the old constraint's name; the referenced
side refuses a DELETE, key UPDATE or TRUNCATE that leaves a reference behind. SQLite keeps its real
foreign keys (nothing to do here).

The referenced side sees what its statement's snapshot sees, so it removes keys only under READ
COMMITTED (the app's level): under REPEATABLE READ or SERIALIZABLE a reference committed by a
concurrent transaction would be missed, so there a DELETE, key UPDATE or TRUNCATE of area, category
or event is refused (0A000) rather than risk an orphan.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 08:00:00
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# (constraint, referencing table, column, referenced table, key, key type)
REFERENCES = (
    ("event_category_code_fkey", "event", "category_code", "category", "code", "text"),
    ("event_area_id_fkey", "event", "area_id", "area", "id", "integer"),
    ("event_duplicate_of_id_fkey", "event", "duplicate_of_id", "event", "id", "integer"),
    ("event_audit_event_id_fkey", "event_audit", "event_id", "event", "id", "integer"),
)
TABLES = ("event", "event_audit", "category", "area")
# Events the transaction wrote itself (a batch's audit rows, a duplicate link inside its batch) need
# no KEY SHARE lock: no other transaction can delete them before this one ends.
OWN_ROWS_NEED_NO_LOCK = True


def _raise(message: str, constraint: str, table: str, detail: str) -> str:
    """A RAISE of foreign_key_violation naming the constraint; `detail` formats the key held in `bad`."""
    return (f"RAISE EXCEPTION '{message}' USING ERRCODE = 'foreign_key_violation', "
            f"CONSTRAINT = '{constraint}', TABLE = '{table}', DETAIL = format('{detail}', bad);")


def _missing(name, table, col, target) -> str:
    return _raise(f'insert or update on table "{table}" violates foreign key constraint "{name}"', name, table,
                  f'Key ({col})=(%s) is not present in table "{target}".')


def _outgoing(refs) -> str:
    """Collect the keys new rows reference (on UPDATE only keys no old row held), lock them, raise if missing."""
    into = ", ".join(f"k_{col}" for _, _, col, *_ in refs)
    inserted = ", ".join(f"array_agg(DISTINCT {col}) FILTER (WHERE {col} IS NOT NULL)" for _, _, col, *_ in refs)
    changed = ", ".join(f"(SELECT array_agg(k) FROM (SELECT {col} FROM new_rows EXCEPT SELECT {col} FROM old_rows) "
                        f"s(k) WHERE k IS NOT NULL)" for _, _, col, *_ in refs)
    out = f"""
  IF TG_OP = 'INSERT' THEN
    SELECT {inserted} INTO {into} FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT {changed} INTO {into};
  END IF;"""
    for name, table, col, target, key, _ in refs:
        if target == "event" and OWN_ROWS_NEED_NO_LOCK:  # existence of all, then a lock on others' rows
            out += f"""
  IF k_{col} IS NOT NULL THEN
    SELECT count(*), array_agg({key}) FILTER (WHERE xmin <> pg_current_xact_id()::xid) INTO n, k_{col}_lock
      FROM {target} WHERE {key} = ANY(k_{col});
    IF n < cardinality(k_{col}) THEN
      SELECT k INTO bad FROM unnest(k_{col}) k WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{key} = k) LIMIT 1;
      {_missing(name, table, col, target)}
    END IF;
    k_{col} := k_{col}_lock;
  END IF;"""
        out += f"""
  IF k_{col} IS NOT NULL THEN
    SELECT array_agg(t.{key}) INTO k_{col}_lock FROM (SELECT {key} FROM {target} WHERE {key} = ANY(k_{col}) FOR KEY SHARE) t;
    IF coalesce(cardinality(k_{col}_lock), 0) < cardinality(k_{col}) THEN
      SELECT k INTO bad FROM (SELECT unnest(k_{col}) EXCEPT SELECT unnest(k_{col}_lock)) s(k) LIMIT 1;
      {_missing(name, table, col, target)}
    END IF;
  END IF;"""
    return out


def _incoming(refs) -> str:
    """Refuse to remove (DELETE, UPDATE of the key, TRUNCATE) keys still referenced."""
    target, key = refs[0][3], refs[0][4]
    truncated, removed = "", ""
    for name, table, col, *_ in refs:
        what = f'on table "{target}" violates foreign key constraint "{name}" on table "{table}"'
        detail = f'Key ({key})=(%s) is still referenced from table "{table}".'
        if table != target:  # a truncated table holds no references to itself
            truncated += f"""
    SELECT {col} INTO bad FROM {table} WHERE {col} IS NOT NULL LIMIT 1;
    IF FOUND THEN {_raise('truncate ' + what, name, table, detail)} END IF;"""
        # FOR KEY SHARE waits for a concurrent change of the referencing row, as the per-row check does.
        # Every referencing column is indexed but event.category_code: removing a category scans event.
        # That is fine for reference data removed or renamed essentially never; an index would cost every
        # ingested event.
        removed += f"""
      SELECT {col} INTO bad FROM {table} WHERE {col} = ANY(gone) AND {col} IS NOT NULL LIMIT 1 FOR KEY SHARE;
      IF FOUND THEN {_raise('update or delete ' + what, name, table, detail)} END IF;"""
    # The checks read the statement's snapshot, which under READ COMMITTED is fresh (a reference
    # committed meanwhile is seen); a foreign key checks with a fresh snapshot at any isolation level.
    fresh = f"""
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION 'removing rows of table "{target}" needs READ COMMITTED' USING ERRCODE = 'feature_not_supported',
        HINT = 'Under REPEATABLE READ or SERIALIZABLE a reference added by a concurrent transaction would not be seen.';
    END IF;"""
    return f"""
  IF TG_OP = 'TRUNCATE' THEN{fresh}{truncated}
  ELSIF TG_OP <> 'INSERT' THEN
    IF TG_OP = 'DELETE' THEN
      SELECT array_agg({key}) INTO gone FROM old_rows;
    ELSE
      SELECT array_agg(k) INTO gone FROM (SELECT {key} FROM old_rows EXCEPT SELECT {key} FROM new_rows) s(k);
    END IF;
    IF gone IS NOT NULL THEN{fresh.replace(chr(10) + "  ", chr(10) + "    ")}{removed}
    END IF;
  END IF;"""


def check_function(table: str) -> str:
    """The trigger function of `table`: checks the references its rows hold and the ones they are the target of."""
    # An UPDATE that leaves the key and every referencing column as they were returns after one query:
    # with unique keys, "no new row differs from an old row" means no key or reference changed.
    outgoing = [r for r in REFERENCES if r[1] == table]
    incoming = [r for r in REFERENCES if r[3] == table]
    declare = "".join(f"k_{col} {typ}[]; k_{col}_lock {typ}[]; " for _, _, col, _, _, typ in outgoing)
    if incoming:
        declare += f"gone {incoming[0][5]}[]; "
    cols = ", ".join(([incoming[0][4]] if incoming else []) + [col for _, _, col, *_ in outgoing])
    return f"""CREATE FUNCTION {table}_check_references() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE {declare}n bigint; bad text;
BEGIN
  IF TG_OP = 'UPDATE' THEN  -- nested: as one expression it would be planned, old_rows and all, on INSERT too
    IF NOT EXISTS (SELECT {cols} FROM new_rows EXCEPT SELECT {cols} FROM old_rows) THEN
      RETURN NULL;
    END IF;
  END IF;{_outgoing(outgoing) if outgoing else ""}{_incoming(incoming) if incoming else ""}
  RETURN NULL;
END $fn$"""


def _events(table: str) -> list[str]:
    """Statement events that can break a reference of or to `table` (transition tables: one per trigger)."""
    events = ["INSERT"] if any(r[1] == table for r in REFERENCES) else []
    events.append("UPDATE")
    return events + (["DELETE", "TRUNCATE"] if any(r[3] == table for r in REFERENCES) else [])


def statements() -> list[str]:
    """Every CREATE FUNCTION and CREATE TRIGGER of the upgrade."""
    tables = {"INSERT": " REFERENCING NEW TABLE AS new_rows", "UPDATE": " REFERENCING OLD TABLE AS old_rows "
              "NEW TABLE AS new_rows", "DELETE": " REFERENCING OLD TABLE AS old_rows", "TRUNCATE": ""}
    out = []
    for table in TABLES:
        out.append(check_function(table))
        out += [f"CREATE TRIGGER {table}_references_{event.lower()} AFTER {event} ON {table}{tables[event]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_check_references()" for event in _events(table)]
    return out


def upgrade() -> None:
    """On PostgreSQL, replace the four foreign keys by the triggers."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, *_ in REFERENCES:
        op.drop_constraint(name, table, type_="foreignkey")
    for sql in statements():
        op.execute(sql)


def downgrade() -> None:
    """On PostgreSQL, drop the triggers and restore the four foreign keys."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP FUNCTION {table}_check_references() CASCADE")  # and its triggers
    for name, table, col, target, key, _ in REFERENCES:
        op.create_foreign_key(name, table, target, [col], [key])
