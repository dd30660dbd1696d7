# SPDX-License-Identifier: MIT
"""The statement plan the database log tests send: a known mix of
operations, so that the agent's counts per operation can be exact."""


def mixed_statements(mix, table="items", name="it''s %d"):
    """mix's SELECT, INSERT, UPDATE and DELETE statements on `items`,
    interleaved (some over several lines), with up to mix["BEGIN"]
    transactions of 5 statements each. `table` is how the one-line SELECT
    names the table; `name` is the inserted name ('%d': the statement's
    number). Returns the statements in order."""
    body = []
    for op, n in mix.items():
        if op not in ("BEGIN", "COMMIT"):
            body += [op] * n
    body = [body[(i * 7) % len(body)] for i in range(len(body))]
    out = []
    for i, op in enumerate(body):
        if i % 30 == 0 and i // 30 < mix["BEGIN"]:
            out.append("BEGIN;")
        if op == "SELECT":
            if i % 5 == 0:
                out.append("SELECT id,\n       name\n  FROM items\n WHERE id = %d;" % (i % 50))
            else:
                out.append("SELECT name FROM %s WHERE id = %d;" % (table, i % 50))
        elif op == "INSERT":
            out.append("INSERT INTO items (id, name) VALUES (%d, '%s');" % (1000 + i, name % i))
        elif op == "UPDATE":
            out.append("UPDATE items\n   SET name = 'u%d'\n WHERE id = %d;" % (i, i % 50))
        elif op == "DELETE":
            out.append("DELETE FROM items WHERE id = %d;" % (1000 + i))
        if i % 30 == 4 and i // 30 < mix["COMMIT"]:
            out.append("COMMIT;")
    return out
