-- The cases table is vacuumed and analyzed after 1 % / 2 % of its rows changed, not PostgreSQL's 20 % / 10 %.
-- Every event rewrites its case's row, which clears the page's all-visible bit; the dashboard's counts of open cases
-- (cases_open_due, cases_open_residence) are index-only scans only on pages a VACUUM marked all-visible since. On a
-- prefecture's 3.5 million cases the overdue counts took 13 ms on a vacuumed table and 140 ms reading the heap; the
-- default would let 700,000 case writes pile up between two vacuums. (SQLite's 0049 is empty: it has no VACUUM of
-- this kind and its reads name their indexes.)
ALTER TABLE cases SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02,
                       autovacuum_vacuum_insert_scale_factor = 0.01);
