-- SPDX-License-Identifier: GPL-2.0
-- The guest's preload step: sqlite3 through libmagalloc-preload.so and
-- without it must print the same.  An in-memory database (every page of
-- it malloc()ed: about 10 MB): a table of 100k rows made by a recursive
-- CTE, an index, queries that use it, sort and group, deletes.
-- Deterministic (no random()).  Kept lean: under TCG this file costs
-- seconds per run.
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, s TEXT NOT NULL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t(k, s) SELECT (x * 7919) % 100003, 'row-' || x FROM c;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(k), max(length(s)), min(s), max(s) FROM t;
SELECT id, k, s FROM t WHERE k BETWEEN 5000 AND 5004 ORDER BY k;
SELECT k % 7 AS g, count(*), sum(id) FROM t GROUP BY g ORDER BY g;
DELETE FROM t WHERE k % 3 = 0;
SELECT count(*), total(k) FROM t;
SELECT id, s FROM t WHERE k > 99990 ORDER BY k;
DELETE FROM t;
SELECT count(*) FROM t;
